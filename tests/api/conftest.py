"""Fixtures for the HTTP service: the real app on a real database, SQLite and PostgreSQL.

Every test module gets a fresh database per backend: a temporary SQLite file, or a fresh PostgreSQL
schema (dropped afterwards) in ``postgresql+psycopg://postgres@127.0.0.1:5432/test``. When PostgreSQL is
unreachable the PostgreSQL tests FAIL (CI starts it); they are never skipped.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api import create_app
from service.app.tokens import ROLES, create_token
from service.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo" / "wuding-county-2021.json"
PG_SERVER = os.environ.get("BUDGET_RULES_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "test-audit-secret"


def pg_url(schema: str) -> str:
    base = PG_SERVER.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from fresh_database(request.param, tmp_path_factory)


def fresh_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new empty database of ``backend`` ("sqlite" or "postgresql"), dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'budget-rules.sqlite3'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is unreachable at {PG_SERVER} ({error}); start it (CI does) to run these tests")
    try:
        yield pg_url(schema)
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def make_settings(database_url: str, **overrides: Any) -> Settings:
    return Settings(database_url=database_url, audit_secret=SECRET, environment="test", **overrides)


@pytest.fixture(scope="module")
def app(database_url: str) -> FastAPI:
    return create_app(make_settings(database_url))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def tokens(app: FastAPI, client: TestClient) -> dict[str, str]:
    """One token per role, created the way the CLI does."""
    state = app.state.budget_rules
    out = {}
    with state.db.transaction() as session:
        for role in ROLES:
            out[role] = create_token(session, f"{role}-{uuid.uuid4().hex[:6]}", role, secret=SECRET)
    return out


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_role_outcome(response: Any, role: str, allowed: set[str]) -> None:
    """An allowed role is neither refused nor met with a server error; any other role gets 403 forbidden."""
    if role in allowed:
        assert response.status_code not in (401, 403), response.text
        assert response.status_code < 500, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"


@pytest.fixture(scope="session")
def demo_request() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEMO.read_text(encoding="utf-8"))
    return data


def small_request(demo: dict[str, Any], departments: int = 3) -> dict[str, Any]:
    """The demo request cut to its first few departments (fast enough for many calls)."""
    data = copy.deepcopy(demo)
    data["departments"] = data["departments"][:departments]
    kept = {d["department_id"] for d in data["departments"]}
    data["projects"] = [p for p in data["projects"] if p["department_id"] in kept]
    data["envelope"] = "5000000.00"
    return data


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


# ------------------------------------------------------------------ ruleset revisions (tests/api/test_rulesets*.py)


def ruleset_files(ruleset_id: str = "wuding-county", **replace: str) -> dict[str, str]:
    """The shipped files of a ruleset as ``propose`` uploads them, with text replaced in the ruleset file."""
    from service.lifecycle.revisions import read_folder

    files = read_folder(REPO, ruleset_id)
    name = f"rulesets/{ruleset_id}.yaml"
    for old, new in replace.items():
        assert old in files[name], old
        files[name] = files[name].replace(old, new)
    return files


def variant(n: int) -> dict[str, str]:
    """A valid wuding-county revision that differs from the shipped one (and from every other n)."""
    return ruleset_files(**{'fragment_below: "100000.00"': f'fragment_below: "{100000 + n}.00"'})


def extra_token(app: FastAPI, role: str, name: str | None = None) -> str:
    """One more token (maker-checker needs two people)."""
    with app.state.budget_rules.db.transaction() as session:
        return create_token(session, name or f"{role}-{uuid.uuid4().hex[:6]}", role, secret=SECRET)


def revision_path(revision: str, action: str = "", ruleset_id: str = "wuding-county") -> str:
    base = f"/v1/rulesets/{ruleset_id}/revisions/{revision}"
    return f"{base}/{action}" if action else base


def upload_revision(
    client: TestClient, token: str, files: dict[str, str], *, draft: bool = False, ruleset_id: str = "wuding-county"
) -> Any:
    body = {"files": files, "reason": "test upload", "draft": draft}
    return client.post(f"/v1/rulesets/{ruleset_id}/revisions", json=body, headers=bearer(token))


def transition(client: TestClient, token: str, revision: str, action: str, **body: Any) -> Any:
    body.setdefault("reason", f"test {action}")
    return client.post(revision_path(revision, action), json=body, headers=bearer(token))


def shipped_revision(ruleset_id: str = "wuding-county") -> str:
    from service.policyfiles import Catalog

    return Catalog.load().compile(ruleset_id).revision
