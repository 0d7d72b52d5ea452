"""``budget-rules ruleset …`` (service/lifecycle/cli.py) on the same databases as the API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.lifecycle.cli import ruleset_app
from tests.api.conftest import REPO, SECRET, bearer, dumps, extra_token, shipped_revision, small_request


@pytest.fixture(scope="module")
def run(database_url: str, client: TestClient) -> Any:
    env = {"BUDGET_RULES_DATABASE_URL": database_url, "BUDGET_RULES_AUDIT_SECRET": SECRET}
    runner = CliRunner()

    def invoke(*args: str, token: str | None = None) -> Any:
        extra = {"BUDGET_RULES_TOKEN": token} if token else {}
        return runner.invoke(ruleset_app, list(args), env={**env, **extra})

    return invoke


def _folder(tmp_path: Path, **replace: str) -> Path:
    for name in ("policies", "rulesets"):
        shutil.copytree(REPO / name, tmp_path / name)
    (tmp_path / "rulesets" / "disclosure-compliance.yaml").unlink()
    ruleset = tmp_path / "rulesets" / "wuding-county.yaml"
    text = ruleset.read_text(encoding="utf-8")
    for old, new in replace.items():
        text = text.replace(old, new)
    ruleset.write_text(text, encoding="utf-8")
    return tmp_path


def test_propose_diff_impact_approve_activate_list_retire(
    app: FastAPI, run: Any, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], tmp_path: Path
) -> None:
    maintainer, approver = extra_token(app, "maintainer"), extra_token(app, "approver")
    folder = _folder(tmp_path, **{"cancel_below: 60": "cancel_below: 55"})
    proposed = run("propose", str(folder), "--reason", "lower the cancel line", token=maintainer)
    assert proposed.exit_code == 0, proposed.output
    revision = proposed.stdout.split("@")[1].split()[0]
    assert "proposed" in proposed.stdout
    assert "warning: rulesets/wuding-county.yaml: rules:" in proposed.stderr

    shipped = shipped_revision()
    diff = run("diff", shipped, revision)
    assert diff.exit_code == 0 and "cancel-ineffective parameter cancel_below: 60 → 55" in diff.stdout
    assert "参数" in run("diff", shipped, revision, "--format", "zh").stdout
    assert json.loads(run("diff", shipped, revision, "--format", "json").stdout)["to"]["revision"] == revision

    request = tmp_path / "request.json"
    request.write_bytes(dumps(small_request(demo_request, departments=4)))
    impact = run("impact", revision, "--input", str(request))
    assert impact.exit_code == 0, impact.output
    assert json.loads(impact.stdout)["proposed"]["revision"] == revision

    same = run("approve", revision, "--reason", "mine", token=maintainer)
    assert same.exit_code == 1 and "forbidden" in same.stderr  # a maintainer cannot approve at all
    assert run("approve", revision, "--reason", "checked", token=approver).exit_code == 0
    overlap = run("activate", revision, "--reason", "go", token=approver)
    assert overlap.exit_code == 1 and "effective_years_overlap" in overlap.stderr and shipped in overlap.stderr
    activated = run(
        "activate", revision, "--reason", "2030 only", "--from-year", "2030", "--to-year", "2030", token=approver
    )
    assert activated.exit_code == 1  # still overlaps the shipped 2021–onwards
    activated = run("activate", revision, "--reason", "swap", "--replaces", shipped, token=approver)
    assert activated.exit_code == 0, activated.output
    response = client.post(
        "/v1/recommendations", content=dumps(small_request(demo_request)), headers=bearer(tokens["compiler"])
    )
    assert response.json()["ruleset"]["revision"] == revision  # the running app swapped without restart

    listed = run("list", "--ruleset", "wuding-county")
    assert f"wuding-county@{revision}  active  active years 2021–onwards" in listed.stdout
    assert f"wuding-county@{shipped}  retired" in listed.stdout

    # Roll back to the shipped revision: submit, approve (someone else), activate in place of the new one.
    assert run("submit", shipped, "--reason", "roll back", token=maintainer).exit_code == 0
    assert run("approve", shipped, "--reason", "ok", token=approver).exit_code == 0
    back = run("activate", shipped, "--reason", "roll back", "--replaces", revision, token=approver)
    assert back.exit_code == 0, back.output
    retired = run("retire", revision, "--reason", "done", token=approver)
    assert retired.exit_code == 1 and "invalid_transition" in retired.stderr  # retired already by the swap


def test_propose_with_errors_exits_2_naming_files_and_paths(run: Any, app: FastAPI, tmp_path: Path) -> None:
    folder = _folder(tmp_path, **{"cut_rate: 0.10": "cut_rate: 1.5"})
    result = run("propose", str(folder), "--reason", "bad", token=extra_token(app, "maintainer"))
    assert result.exit_code == 2
    assert "error: rulesets/wuding-county.yaml: policies.4.params.cut_rate:" in result.stderr
    assert result.stdout == ""


def test_changes_need_a_valid_token(run: Any, tmp_path: Path) -> None:
    result = run("propose", str(_folder(tmp_path)), "--reason", "x", token="br_nope")
    assert result.exit_code == 1 and "unauthenticated" in result.stderr
