"""``budget-rules draft …`` on the same databases as the API: recommendation (recorded) to 定稿 from the CLI."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.cli import app as cli_app
from tests.api.conftest import SECRET, bearer, extra_token, small_request


@pytest.fixture(scope="module")
def run(database_url: str, client: TestClient) -> Any:
    env = {"BUDGET_RULES_DATABASE_URL": database_url, "BUDGET_RULES_AUDIT_SECRET": SECRET}
    runner = CliRunner()

    def invoke(*args: str, token: str | None = None) -> Any:
        extra = {"BUDGET_RULES_TOKEN": token} if token else {}
        return runner.invoke(cli_app, list(args), env={**env, **extra})

    return invoke


def test_recommendation_to_final_over_the_cli(
    app: FastAPI, run: Any, client: TestClient, demo_request: dict[str, Any], tmp_path: Path
) -> None:
    person = f"Li.Ming-{uuid.uuid4().hex[:6]}"
    compiler = extra_token(app, "compiler", person)
    approver = extra_token(app, "approver")
    path = tmp_path / "request.json"
    path.write_text(json.dumps(small_request(demo_request), ensure_ascii=False), encoding="utf-8")
    recorded = run("recommend", str(path), "--record", token=compiler)
    assert recorded.exit_code == 0, recorded.output
    decision = json.loads(recorded.stdout)
    line = decision["lines"][0]

    created = run(
        "draft",
        "create",
        decision["decision_id"],
        "--name",
        "2021年年初预算 第一稿",
        "--format",
        "json",
        token=compiler,
    )
    assert created.exit_code == 0, created.output
    draft_id = json.loads(created.stdout)["draft_id"]

    missing_reason = run(
        "draft", "adjust", draft_id, line["project_id"], "--amount", "100.00", "--reason", " ", token=compiler
    )
    assert missing_reason.exit_code == 2 and "reason" in missing_reason.stderr
    negative = run(
        "draft", "adjust", draft_id, line["project_id"], "--amount", "-1.00", "--reason", "r", token=compiler
    )
    assert negative.exit_code == 2 and line["project_id"] in negative.stderr and "amount" in negative.stderr

    new_amount = Decimal(line["recommended"]) - Decimal("0.01")
    adjusted = run(
        "draft",
        "adjust",
        draft_id,
        line["project_id"],
        "--amount",
        f"{new_amount:,.2f}",
        "--reason",
        "压减一分",
        token=compiler,
    )
    assert adjusted.exit_code == 0, adjusted.output
    assert "调整后" in adjusted.stdout

    report = run("draft", "deviations", draft_id, "--format", "json", token=compiler)
    assert report.exit_code == 0, report.output
    rows = json.loads(report.stdout)["lines"]
    assert [(r["project_id"], r["difference"], r["reason"], r["adjusted_by"]) for r in rows] == [
        (line["project_id"], "-0.01", "压减一分", person)
    ]
    table = run("draft", "deviations", draft_id, token=compiler)
    assert "偏离 1 项" in table.stdout and "调减 0.01元" in table.stdout

    assert run("draft", "submit", draft_id, token=compiler).exit_code == 0
    same = run("draft", "approve", draft_id, token=extra_token(app, "approver", person.lower()))
    assert same.exit_code == 1 and "same_person" in same.stderr
    approved = run("draft", "approve", draft_id, "--comment", "同意", token=approver)
    assert approved.exit_code == 0, approved.output
    assert "定稿" in approved.stdout

    locked = run("draft", "adjust", draft_id, line["project_id"], "--amount", "1.00", "--reason", "r", token=compiler)
    assert locked.exit_code == 1 and "draft_final" in locked.stderr
    replay = run("draft", "replay", draft_id, token=compiler)
    assert replay.exit_code == 0 and json.loads(replay.stdout)["reproduced"] is True
    assert run("draft", "verify", token=compiler).exit_code == 0
    audited = run("audit", "verify")
    assert audited.exit_code == 0, audited.output
    report = json.loads(audited.stdout)
    assert report["ok"] is True and report["drafts"]["checked"] >= 1 and report["drafts"]["problems"] == []

    api = client.get(f"/v1/drafts/{draft_id}", headers=bearer(approver)).json()
    assert api["state"] == "final" and api["approved_by"]
    shown = run("draft", "show", draft_id, token=approver)
    assert shown.exit_code == 0 and "定稿" in shown.stdout and "压减一分" in shown.stdout


def test_draft_commands_need_a_token_and_an_existing_draft(run: Any, app: FastAPI) -> None:
    assert run("draft", "show", str(uuid.uuid4())).exit_code == 1
    missing = run("draft", "show", str(uuid.uuid4()), token=extra_token(app, "compiler"))
    assert missing.exit_code == 1 and "not_found" in missing.stderr
