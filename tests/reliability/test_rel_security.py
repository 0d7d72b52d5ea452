"""Point 6 (issue 6): the security review as tests.

* Authorization matrix read from the app itself: every operation of its OpenAPI document (so a new
  endpoint fails the test until it is placed in EXPECTED) × every role, plus no token, a revoked token
  and an expired token: 401 / 403 / admitted exactly as documented (docs/api.md, rulesets.md,
  simulations.md). Over SQLite and PostgreSQL.
* Tokens are stored hashed and compared in constant time; tokens expire (migration 0004).
* No token and no audit secret ever appear in the logs of a run of requests.
* SQL is only ever built from constants with bound parameters: an AST scan of service/.
* Request rate limit (429 + Retry-After) and security headers on every response.
"""

from __future__ import annotations

import ast
import inspect
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api import create_app
from service.api.security import TokenBuckets
from service.app import roles
from service.app import tokens as token_service
from service.app.errors import Unauthenticated
from service.app.tokens import ROLES, authenticate, create_token, token_hash
from service.storage.db import utc_now
from tests.api.conftest import (  # noqa: F401 (fixtures)
    REPO,
    SECRET,
    app,
    bearer,
    client,
    database_url,
    demo_request,
    dumps,
    make_settings,
    small_request,
    tokens,
)

PUBLIC = None
READERS = set(roles.RULESET_READERS)
# Who may call what: each operation names its capability in the ONE declaration, service/app/roles.py
# (checked against the docs below); the test then asks the running app whether it enforces it.
EXPECTED: dict[str, set[str] | None] = {
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    "POST /v1/recommendations": set(roles.COMPILERS),
    "GET /v1/decisions": set(roles.DECISION_READERS),
    "GET /v1/decisions/{decision_id}": set(roles.DECISION_READERS),
    "POST /v1/decisions/{decision_id}/replay": set(roles.AUDITORS),
    "GET /v1/audit/verify": set(roles.AUDITORS),
    "GET /v1/audit/head": set(roles.AUDITORS),
    "POST /v1/datasets": set(roles.COMPILERS),
    "GET /v1/datasets": set(roles.DATASET_READERS),
    "GET /v1/datasets/{dataset_id}": set(roles.DATASET_READERS),
    "POST /v1/tokens": set(roles.ADMINS),
    "DELETE /v1/tokens/{name}": set(roles.ADMINS),
    "GET /v1/rulesets": READERS,
    "GET /v1/rulesets/{ruleset_id}/revisions": READERS,
    "POST /v1/rulesets/{ruleset_id}/revisions": set(roles.MAINTAINERS),
    "GET /v1/rulesets/{ruleset_id}/revisions/{revision}": READERS,
    "POST /v1/rulesets/{ruleset_id}/revisions/{revision}/propose": set(roles.MAINTAINERS),
    "POST /v1/rulesets/{ruleset_id}/revisions/{revision}/approve": set(roles.APPROVERS),
    "POST /v1/rulesets/{ruleset_id}/revisions/{revision}/activate": set(roles.APPROVERS),
    "POST /v1/rulesets/{ruleset_id}/revisions/{revision}/retire": set(roles.APPROVERS),
    "GET /v1/rulesets/{ruleset_id}/revisions/{revision}/diff": READERS,
    "POST /v1/rulesets/{ruleset_id}/revisions/{revision}/impact": set(roles.IMPACT_PREVIEWERS),
    "POST /v1/disclosure-reviews": set(roles.COMPILERS),
    "POST /v1/simulations": set(roles.SIMULATION_RUNNERS),
    "GET /v1/simulations": set(roles.SIMULATION_READERS),
    "GET /v1/simulations/{job_id}": set(roles.SIMULATION_READERS),
    "GET /v1/simulations/{job_id}/result": set(roles.SIMULATION_READERS),
    "GET /v1/simulations/{job_id}/report": set(roles.SIMULATION_READERS),
    # budget drafts (docs/drafts.md): compilers make and adjust, approvers approve or return
    "POST /v1/drafts": set(roles.DRAFT_MAKERS),
    "GET /v1/drafts": set(roles.DRAFT_READERS),
    "GET /v1/drafts/verify": set(roles.DRAFT_READERS),
    "GET /v1/drafts/{draft_id}": set(roles.DRAFT_READERS),
    "PUT /v1/drafts/{draft_id}/lines/{project_id}": set(roles.DRAFT_MAKERS),
    "PATCH /v1/drafts/{draft_id}/lines/{project_id}": set(roles.DRAFT_MAKERS),
    "POST /v1/drafts/{draft_id}/submit": set(roles.DRAFT_MAKERS),
    "POST /v1/drafts/{draft_id}/approve": set(roles.DRAFT_CHECKERS),
    "POST /v1/drafts/{draft_id}/return": set(roles.DRAFT_CHECKERS),
    "GET /v1/drafts/{draft_id}/deviations": set(roles.DRAFT_READERS),
    "GET /v1/drafts/{draft_id}/export.xlsx": set(roles.DRAFT_READERS),
    "GET /v1/drafts/{draft_id}/budget.pdf": set(roles.DRAFT_READERS),
    "GET /v1/drafts/{draft_id}/replay": set(roles.DRAFT_READERS),
    "GET /v1/compare/drafts": set(roles.DRAFT_READERS),
    "GET /v1/compare/recommendations": set(roles.DRAFT_READERS),
    "POST /v1/rulesets/{ruleset_id}/revisions/{revision}/return": set(roles.APPROVERS),  # issue 15
    "GET /v1/rulesets/{ruleset_id}/revisions/{revision}/review": READERS,  # issue 15
    "GET /v1/rulesets/{ruleset_id}/history": READERS,  # issue 15
}
NOT_API = re.compile(r"^/(openapi\.json|docs|redoc|ui|static)(/|$)")  # documentation and the browser UI


def operations(app: FastAPI) -> list[str]:  # noqa: F811
    """Every operation the app serves, read from the app (its OpenAPI document is generated from its routes)."""
    out = []
    for path, methods in app.openapi()["paths"].items():
        if NOT_API.match(path):
            continue
        out.extend(f"{method.upper()} {path}" for method in methods)
    return sorted(out)


def call(client: TestClient, operation: str, headers: dict[str, str]) -> Any:  # noqa: F811
    method, path = operation.split(" ", 1)
    url = re.sub(r"\{[^}]+\}", "no-such-thing", path)
    body = {"content": b"{}", "headers": {**headers, "Content-Type": "application/json"}}
    return client.request(method, url, **(body if method in ("POST", "PUT", "PATCH") else {"headers": headers}))


@pytest.fixture(scope="module")
def identities(app: FastAPI, client: TestClient, tokens: dict[str, str]) -> dict[str, str]:  # noqa: F811
    """Every role, plus a revoked token and an expired one (both of the most powerful role)."""
    admin = bearer(tokens["admin"])
    created = client.post(
        "/v1/tokens", json={"name": f"revoked-{uuid.uuid4().hex[:6]}", "role": "admin"}, headers=admin
    )
    assert created.status_code == 201, created.text
    assert client.delete(f"/v1/tokens/{created.json()['name']}", headers=admin).status_code == 204
    with app.state.budget_rules.db.transaction() as session:
        expired = create_token(
            session, f"expired-{uuid.uuid4().hex[:6]}", "admin", secret=SECRET, expires_at=utc_now() - timedelta(1)
        )
    return {**tokens, "revoked": created.json()["token"], "expired": expired}


DOCUMENTED = [REPO / "docs" / name for name in ("api.md", "rulesets.md", "simulations.md")]


def test_every_role_set_the_docs_give_is_one_declared_capability() -> None:
    """The role tables of the docs use only the role sets of service/app/roles.py ("none", "same": as above)."""
    declared = {frozenset(allowed) for allowed in roles.MATRIX.values()}
    rows = [
        line.rstrip().rstrip("|").rsplit("|", 1)[-1]
        for path in DOCUMENTED
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `") and re.search(r"`(GET|POST|DELETE) ", line)
    ]
    assert len(rows) >= 20, rows
    for cell in rows:
        named = frozenset(r.strip() for r in cell.split(",") if r.strip())
        assert named in ({"none"}, {"same"}) or named in declared, f"docs name roles {sorted(named)}: not declared"
    assert set(roles.ROLES) == {r for allowed in roles.MATRIX.values() for r in allowed}


def test_every_served_operation_is_in_the_matrix(app: FastAPI) -> None:  # noqa: F811
    served = set(operations(app))
    missing = served - set(EXPECTED)
    assert not missing, f"new endpoints without an authorization expectation: {sorted(missing)}"
    assert not set(EXPECTED) - served, f"expected endpoints the app no longer serves: {set(EXPECTED) - served}"


@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_authorization_matrix(
    client: TestClient,  # noqa: F811
    identities: dict[str, str],
    operation: str,
) -> None:
    allowed = EXPECTED[operation]
    for who in (*ROLES, "revoked", "expired", None):
        headers = bearer(identities[who]) if who else {}
        response = call(client, operation, headers)
        where = f"{operation} as {who}: {response.status_code} {response.text[:300]}"
        assert response.status_code < 500, where
        if allowed is PUBLIC:
            assert response.status_code not in (401, 403), where
        elif who in (None, "revoked", "expired"):
            assert response.status_code == 401, where
            assert response.json()["error"]["code"] == "unauthenticated", where
            assert response.headers.get("WWW-Authenticate") == "Bearer", where
        elif who in allowed:
            assert response.status_code not in (401, 403), where
        else:
            assert response.status_code == 403, where
            assert response.json()["error"]["code"] == "forbidden", where


def test_expiry_through_the_api(client: TestClient, tokens: dict[str, str], app: FastAPI) -> None:  # noqa: F811
    name = f"exp-{uuid.uuid4().hex[:6]}"
    created = client.post(
        "/v1/tokens", json={"name": name, "role": "auditor", "expires_in_days": 1}, headers=bearer(tokens["admin"])
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["expires_at"]
    assert client.get("/v1/audit/head", headers=bearer(body["token"])).status_code == 200
    with app.state.budget_rules.db.transaction() as session:
        assert authenticate(session, body["token"]).name == name
        with pytest.raises(Unauthenticated, match="expired"):
            authenticate(session, body["token"], now=utc_now() + timedelta(days=1, seconds=1))
    bad = client.post(
        "/v1/tokens", json={"name": "x1", "role": "auditor", "expires_in_days": 0}, headers=bearer(tokens["admin"])
    )
    assert bad.status_code == 422


def test_tokens_are_hashed_and_compared_in_constant_time(app: FastAPI, tokens: dict[str, str]) -> None:  # noqa: F811
    from sqlalchemy import text

    with app.state.budget_rules.db.engine.connect() as connection:
        rows = [" ".join(map(str, row)) for row in connection.execute(text("SELECT * FROM tokens"))]
    stored = "\n".join(rows)
    for token in tokens.values():
        assert token not in stored
        assert token_hash(token) in stored
    source = inspect.getsource(token_service.authenticate)
    assert "hmac.compare_digest" in source and "==" not in source.replace("!=", "")


# ------------------------------------------------------------------------------------------ logs


def test_no_token_or_secret_in_the_logs(
    app: FastAPI,  # noqa: F811
    client: TestClient,  # noqa: F811
    tokens: dict[str, str],  # noqa: F811
    demo_request: dict[str, Any],  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "budget_rules", "uvicorn", "httpx"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        request = small_request(demo_request, departments=1)
        made = client.post("/v1/tokens", json={"name": f"log-{uuid.uuid4().hex[:6]}", "role": "auditor"},
                           headers=bearer(tokens["admin"]))  # fmt: skip
        new_token = made.json()["token"]
        seen = [new_token, *tokens.values()]
        decision = client.post("/v1/recommendations", content=dumps(request), headers=bearer(tokens["compiler"]))
        assert decision.status_code == 200
        client.post(f"/v1/decisions/{decision.json()['decision_id']}/replay", headers=bearer(tokens["auditor"]))
        client.get("/v1/audit/verify", headers=bearer(new_token))
        client.get("/v1/audit/verify", headers=bearer(tokens["compiler"]))  # 403
        client.get("/v1/audit/verify", headers=bearer(new_token + "x"))  # 401
        client.post("/v1/recommendations", content=b"{bad", headers=bearer(tokens["compiler"]))  # 422
        client.post("/v1/tokens", json={"name": "bad name", "role": "x"}, headers=bearer(tokens["admin"]))
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert "POST" in logged or caplog.records, "nothing was logged: the capture is not working"
    for secret in (*seen, new_token + "x", SECRET):
        assert secret not in logged, "a token or the audit secret reached the logs"


# ------------------------------------------------------------------------------------------ SQL


SQL_CALLS = {"text", "execute", "exec_driver_sql", "executescript", "executemany"}


def _sql_built_dynamically(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return True
    if isinstance(node, ast.IfExp):
        return _sql_built_dynamically(node.body) or _sql_built_dynamically(node.orelse)
    return False


def sql_string_building(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in SQL_CALLS and _sql_built_dynamically(node.args[0]):
                found.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


def test_sql_is_never_built_from_strings() -> None:
    assert sql_string_building(REPO / "service") == []


def test_the_sql_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        "cursor.execute(f'SELECT * FROM t WHERE id = {x}')\n"
        "session.execute(text('SELECT %s' % x))\n"
        "conn.exec_driver_sql('DELETE FROM t WHERE n = {}'.format(n))\n"
        "session.execute(text('SELECT 1 WHERE a = :a'), {'a': a})\n",
        encoding="utf-8",
    )
    assert len(sql_string_building(tmp_path)) == 3


# ------------------------------------------------------------------------------------------ limits and headers


@pytest.fixture(scope="module")
def limited(database_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:  # noqa: F811
    limited_app = create_app(make_settings(database_url, rate_limit_per_minute=60, rate_limit_burst=5))
    with TestClient(limited_app) as test_client:
        with limited_app.state.budget_rules.db.transaction() as session:
            made = {r: create_token(session, f"rl-{r}-{uuid.uuid4().hex[:6]}", r, secret=SECRET) for r in ROLES}
        yield test_client, made


def test_rate_limit_per_caller(limited: tuple[TestClient, dict[str, str]]) -> None:
    client, made = limited  # noqa: F811
    auditor = bearer(made["auditor"])
    statuses = [client.get("/v1/audit/head", headers=auditor).status_code for _ in range(8)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3, statuses
    refused = client.get("/v1/audit/head", headers=auditor)
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/v1/datasets", headers=bearer(made["analyst"])).status_code == 200  # another caller
    assert all(client.get("/healthz").status_code == 200 for _ in range(10))  # probes are never limited


def test_token_buckets_refill_and_stay_bounded() -> None:
    now = [0.0]
    buckets = TokenBuckets(per_minute=60, burst=2, max_keys=100, clock=lambda: now[0])
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)
    now[0] += 1.0
    assert buckets.take("a") == 0.0
    for i in range(1000):
        buckets.take(f"k{i}")
    assert len(buckets) == 100


@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("GET", "/healthz", None),
        ("GET", "/v1/audit/head", "auditor"),
        ("GET", "/v1/audit/head", None),  # 401
        ("GET", "/v1/audit/head", "compiler"),  # 403
        ("GET", "/v1/no-such-route", "auditor"),  # 404
        ("POST", "/v1/recommendations", "compiler"),  # 422
        ("GET", "/openapi.json", None),
    ],
)
def test_security_headers_on_every_response(
    client: TestClient,  # noqa: F811
    tokens: dict[str, str],  # noqa: F811
    method: str,
    path: str,
    who: str | None,
) -> None:
    response = client.request(method, path, headers=bearer(tokens[who]) if who else {}, content=b"{}")
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_security_headers_on_a_413(database_url: str) -> None:  # noqa: F811
    small = create_app(make_settings(database_url, max_body_bytes=1000), warm=False)
    with TestClient(small) as test_client:
        with small.state.budget_rules.db.transaction() as session:  # authentication comes before the body
            token = create_token(session, f"big-{uuid.uuid4().hex[:6]}", "compiler", secret=SECRET)
        response = test_client.post("/v1/recommendations", content=b"x" * 2000, headers=bearer(token))
    assert response.status_code == 413
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
