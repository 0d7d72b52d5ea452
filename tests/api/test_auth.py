"""Every endpoint × every role: 401 without a valid token, 403 with the wrong role, admitted otherwise."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.app import roles
from service.app.roles import ROLES
from service.app.tokens import revoke_token, token_hash
from tests.api.conftest import SECRET, assert_role_outcome, bearer, dumps, small_request

Call = Callable[[TestClient, dict[str, str], dict[str, Any]], Any]

# Each endpoint's capability in the one declaration (service/app/roles.py); the app must enforce it.
ENDPOINTS: dict[str, tuple[set[str], Call]] = {
    "POST /v1/recommendations": (
        set(roles.COMPILERS),
        lambda c, h, ctx: c.post("/v1/recommendations", content=dumps(ctx["request"]), headers=h),
    ),
    "GET /v1/decisions": (set(roles.DECISION_READERS), lambda c, h, ctx: c.get("/v1/decisions", headers=h)),
    "GET /v1/decisions/{id}": (
        set(roles.DECISION_READERS),
        lambda c, h, ctx: c.get(f"/v1/decisions/{ctx['decision_id']}", headers=h),
    ),
    "POST /v1/decisions/{id}/replay": (
        set(roles.AUDITORS),
        lambda c, h, ctx: c.post(f"/v1/decisions/{ctx['decision_id']}/replay", headers=h),
    ),
    "GET /v1/audit/verify": (set(roles.AUDITORS), lambda c, h, ctx: c.get("/v1/audit/verify", headers=h)),
    "GET /v1/audit/head": (set(roles.AUDITORS), lambda c, h, ctx: c.get("/v1/audit/head", headers=h)),
    "POST /v1/datasets": (
        set(roles.COMPILERS),
        lambda c, h, ctx: c.post("/v1/datasets", content=dumps(ctx["request"]), headers=h),
    ),
    "GET /v1/datasets": (set(roles.DATASET_READERS), lambda c, h, ctx: c.get("/v1/datasets", headers=h)),
    "GET /v1/datasets/{id}": (
        set(roles.DATASET_READERS),
        lambda c, h, ctx: c.get(f"/v1/datasets/{ctx['dataset_id']}", headers=h),
    ),
    "POST /v1/tokens": (
        set(roles.ADMINS),
        lambda c, h, ctx: c.post(
            "/v1/tokens", json={"name": f"t-{uuid.uuid4().hex[:8]}", "role": "analyst"}, headers=h
        ),
    ),
    "DELETE /v1/tokens/{name}": (set(roles.ADMINS), lambda c, h, ctx: c.delete("/v1/tokens/no-such-token", headers=h)),
}


@pytest.fixture(scope="module")
def context(client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]) -> dict[str, Any]:
    request = small_request(demo_request, departments=1)
    compiler = bearer(tokens["compiler"])
    decision = client.post("/v1/recommendations", content=dumps(request), headers=compiler).json()
    dataset = client.post("/v1/datasets", content=dumps(request), headers=compiler).json()
    return {"request": request, "decision_id": decision["decision_id"], "dataset_id": dataset["id"]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_role_matrix(
    client: TestClient, tokens: dict[str, str], context: dict[str, Any], endpoint: str, role: str
) -> None:
    allowed, call = ENDPOINTS[endpoint]
    assert_role_outcome(call(client, bearer(tokens[role]), context), role, allowed)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer br_not-a-token"}, {"Authorization": "Basic eDp5"}])
def test_without_a_valid_token_is_401(
    client: TestClient, context: dict[str, Any], endpoint: str, headers: dict[str, str]
) -> None:
    _, call = ENDPOINTS[endpoint]
    response = call(client, headers, context)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_health_needs_no_token(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_tokens_are_stored_only_as_hashes(app: FastAPI, client: TestClient, tokens: dict[str, str]) -> None:
    created = client.post("/v1/tokens", json={"name": "hash-check", "role": "auditor"}, headers=bearer(tokens["admin"]))
    assert created.status_code == 201
    plaintext = created.json()["token"]
    from sqlalchemy import text

    with app.state.budget_rules.db.engine.connect() as connection:
        stored = connection.execute(text("SELECT token_sha256 FROM tokens WHERE name = 'hash-check'")).scalar_one()
        everything = " ".join(str(v) for row in connection.execute(text("SELECT * FROM tokens")) for v in row)
    assert stored == token_hash(plaintext)
    assert plaintext not in everything
    assert client.get("/v1/audit/head", headers=bearer(plaintext)).status_code == 200


def test_admin_creates_and_revokes_a_token(client: TestClient, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    created = client.post("/v1/tokens", json={"name": "short-lived", "role": "auditor"}, headers=admin)
    assert created.status_code == 201
    token = created.json()["token"]
    assert client.get("/v1/audit/head", headers=bearer(token)).status_code == 200
    again = client.post("/v1/tokens", json={"name": "short-lived", "role": "auditor"}, headers=admin)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "token_exists" and "token" not in again.json()
    assert client.delete("/v1/tokens/short-lived", headers=admin).status_code == 204
    revoked = client.get("/v1/audit/head", headers=bearer(token))
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "unauthenticated"
    assert revoked.headers["WWW-Authenticate"] == "Bearer"
    gone = client.delete("/v1/tokens/short-lived", headers=admin)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    bad = client.post("/v1/tokens", json={"name": "x y", "role": "king"}, headers=admin)
    assert bad.status_code == 422
    assert {tuple(d["loc"]) for d in bad.json()["error"]["details"]} == {("name",), ("role",)}


def test_cli_functions_create_and_revoke(app: FastAPI, client: TestClient) -> None:
    from service.app.tokens import create_token

    db = app.state.budget_rules.db
    with db.transaction() as session:
        token = create_token(session, "cli-made", "auditor", secret=SECRET)
    assert client.get("/v1/audit/head", headers=bearer(token)).status_code == 200
    with db.transaction() as session:
        revoke_token(session, "cli-made", secret=SECRET)
    assert client.get("/v1/audit/head", headers=bearer(token)).status_code == 401
