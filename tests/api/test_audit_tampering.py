"""Tampering at the chain's edges: a record numbered 0 or below, a missing head row (never a 500)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from service.cli import app as cli_app
from tests.api.conftest import SECRET, bearer, dumps, small_request


def _one(app: FastAPI, sql: str, **params: Any) -> Any:
    with app.state.budget_rules.db.engine.begin() as connection:
        return connection.execute(text(sql), params).mappings().first()


def _run(app: FastAPI, sql: str, **params: Any) -> None:
    with app.state.budget_rules.db.engine.begin() as connection:
        connection.execute(text(sql), params)


def _insert(app: FastAPI, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    _run(app, f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in row)})", **row)


def test_record_numbered_zero_or_below_is_named(app: FastAPI, client: TestClient, tokens: dict[str, str]) -> None:
    stray = dict(_one(app, "SELECT * FROM audit_records WHERE seq = 1"))
    stray["seq"] = -5
    _insert(app, "audit_records", stray)
    try:
        result = client.get("/v1/audit/verify", headers=bearer(tokens["auditor"])).json()
        assert result["ok"] is False
        assert result["first_bad_seq"] == -5
        assert "outside the chain" in result["problem"]
    finally:
        _run(app, "DELETE FROM audit_records WHERE seq = -5")
    assert client.get("/v1/audit/verify", headers=bearer(tokens["auditor"])).json()["ok"] is True


def test_missing_head_row_is_tampering_everywhere(
    app: FastAPI, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], database_url: str
) -> None:
    saved = dict(_one(app, "SELECT * FROM audit_head"))
    _run(app, "DELETE FROM audit_head")
    try:
        verify = client.get("/v1/audit/verify", headers=bearer(tokens["auditor"]))
        assert verify.status_code == 200
        assert verify.json()["ok"] is False
        assert "head row is missing" in verify.json()["problem"]
        head = client.get("/v1/audit/head", headers=bearer(tokens["auditor"]))
        assert head.status_code == 409, head.text
        assert head.json()["error"]["code"] == "audit_tampered"
        body = dumps(small_request(demo_request, 1))
        recommend = client.post("/v1/recommendations", content=body, headers=bearer(tokens["compiler"]))
        assert recommend.status_code == 409, recommend.text
        assert recommend.json()["error"]["code"] == "audit_tampered"
        env = {"BUDGET_RULES_DATABASE_URL": database_url, "BUDGET_RULES_AUDIT_SECRET": SECRET}
        runner = CliRunner()
        cli_verify = runner.invoke(cli_app, ["audit", "verify"], env=env)
        assert cli_verify.exit_code == 1
        assert "head row is missing" in cli_verify.output
        cli_head = runner.invoke(cli_app, ["audit", "head"], env=env)
        assert cli_head.exit_code == 1
        assert "LookupError" not in cli_head.output and "tampered" in cli_head.output
    finally:
        _insert(app, "audit_head", saved)
    assert client.get("/v1/audit/verify", headers=bearer(tokens["auditor"])).json()["ok"] is True
