"""Honest ids: ``budget-rules recommend`` prints a decision id only when it recorded the decision.

Without ``--record`` nothing is stored and ``decision_id`` is null; with ``--record`` (a compiler's
token) the decision and its audit record are in the configured database, found by the API under the
printed id, and the chain verifies. A refused token or invalid input stores nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.cli import app as cli_app
from tests.api.conftest import SECRET, bearer, small_request


@pytest.fixture(scope="module")
def run(database_url: str, client: TestClient) -> Any:
    env = {"BUDGET_RULES_DATABASE_URL": database_url, "BUDGET_RULES_AUDIT_SECRET": SECRET}
    runner = CliRunner()

    def invoke(*args: str, token: str | None = None) -> Any:
        extra = {"BUDGET_RULES_TOKEN": token} if token else {}
        return runner.invoke(cli_app, list(args), env={**env, **extra})

    return invoke


def _count(client: TestClient, token: str) -> int:
    response = client.get("/v1/decisions", headers=bearer(token))
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


def _request_file(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_without_record_nothing_is_stored_and_no_id_is_printed(
    run: Any, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], tmp_path: Path
) -> None:
    before = _count(client, tokens["compiler"])
    result = run("recommend", str(_request_file(tmp_path, small_request(demo_request))))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decision_id"] is None
    assert _count(client, tokens["compiler"]) == before


def test_record_stores_the_decision_with_its_audit_record(
    run: Any, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], tmp_path: Path
) -> None:
    before = _count(client, tokens["compiler"])
    result = run(
        "recommend", str(_request_file(tmp_path, small_request(demo_request))), "--record", token=tokens["compiler"]
    )
    assert result.exit_code == 0, result.output
    decision_id = json.loads(result.stdout)["decision_id"]
    assert decision_id and f"recorded: decision {decision_id}" in result.stderr
    stored = client.get(f"/v1/decisions/{decision_id}", headers=bearer(tokens["compiler"]))
    assert stored.status_code == 200, stored.text
    assert stored.json()["result"]["decision_id"] == decision_id
    assert _count(client, tokens["compiler"]) == before + 1
    verify = client.get("/v1/audit/verify", headers=bearer(tokens["auditor"]))
    assert verify.status_code == 200 and verify.json()["ok"] is True, verify.text


def test_record_is_refused_without_a_compiler_token_and_stores_nothing(
    run: Any, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], tmp_path: Path
) -> None:
    path = _request_file(tmp_path, small_request(demo_request))
    before = _count(client, tokens["compiler"])
    missing = run("recommend", str(path), "--record")
    assert missing.exit_code == 1 and "token" in missing.stderr and missing.stdout == ""
    analyst = run("recommend", str(path), "--record", token=tokens["analyst"])
    assert analyst.exit_code == 1 and "forbidden" in analyst.stderr and analyst.stdout == ""
    assert _count(client, tokens["compiler"]) == before


def test_record_with_invalid_input_exits_2_and_stores_nothing(
    run: Any, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], tmp_path: Path
) -> None:
    data = small_request(demo_request)
    data["projects"][0]["requested"] = "-5"
    before = _count(client, tokens["compiler"])
    result = run("recommend", str(_request_file(tmp_path, data)), "--record", token=tokens["compiler"])
    assert result.exit_code == 2 and result.stdout == ""
    assert data["projects"][0]["project_id"] in result.stderr and "requested" in result.stderr
    assert _count(client, tokens["compiler"]) == before
