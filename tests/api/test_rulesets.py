"""Ruleset revisions over HTTP: upload and static checks, maker-checker, effective years, rollback, diff,
impact, replay of old decisions, disclosure reviews — on SQLite and PostgreSQL.

The tests of this module share one database and run in order: a story from the shipped revision A
to a second revision B for 2022 onwards and A rolled back in for 2021.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.api.conftest import (
    bearer,
    dumps,
    extra_token,
    revision_path,
    ruleset_files,
    shipped_revision,
    small_request,
    transition,
    upload_revision,
    variant,
)


@pytest.fixture(scope="module")
def story(app: FastAPI, tokens: dict[str, str]) -> dict[str, Any]:
    """Shared across the module: revision ids and the extra tokens the story needs."""
    return {
        "A": shipped_revision(),
        "approver2": extra_token(app, "approver"),
        "maintainer2": extra_token(app, "maintainer"),
    }


def _error(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def _audit_rows(app: FastAPI, subject: str) -> list[dict[str, Any]]:
    with app.state.budget_rules.db.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT * FROM audit_records WHERE subject = :s ORDER BY seq"), {"s": subject}
        ).mappings()
        return [dict(r) for r in rows]


def _recommend(client: TestClient, tokens: dict[str, str], demo: dict[str, Any], **changes: Any) -> Any:
    body = {**small_request(demo, departments=2), **changes}
    return client.post("/v1/recommendations", content=dumps(body), headers=bearer(tokens["compiler"]))


def test_shipped_rulesets_are_installed_and_active(
    client: TestClient, tokens: dict[str, str], story: dict[str, Any]
) -> None:
    listed = client.get("/v1/rulesets", headers=bearer(tokens["auditor"])).json()["items"]
    by_id = {r["id"]: r for r in listed}
    assert set(by_id) == {"wuding-county", "disclosure-compliance"}
    assert by_id["wuding-county"]["active"] == [
        {
            "revision": story["A"],
            "digest": by_id["wuding-county"]["active"][0]["digest"],
            "from_year": 2021,
            "to_year": None,
        }
    ]
    assert by_id["disclosure-compliance"]["active"][0]["revision"] == shipped_revision("disclosure-compliance")
    detail = client.get(revision_path(story["A"]), headers=bearer(tokens["auditor"])).json()
    assert detail["state"] == "active" and detail["activated_by"] == "system"
    assert detail["digest"].removeprefix("sha256:")[:12] == story["A"]
    assert set(detail["content"]["policies"]) == {
        b["policy"] for b in detail["content"]["ruleset"]["policies"]
    }  # every bound policy stored with the ruleset


def test_recommendation_records_the_active_revision(
    app: FastAPI, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], story: dict[str, Any]
) -> None:
    response = _recommend(client, tokens, demo_request)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ruleset"]["revision"] == story["A"]
    decision = client.get(f"/v1/decisions/{result['decision_id']}", headers=bearer(tokens["auditor"])).json()
    assert decision["ruleset"]["revision"] == story["A"]
    audit = _audit_rows(app, result["decision_id"])[0]
    assert (audit["ruleset_revision"], audit["ruleset_digest"]) == (story["A"], result["ruleset"]["digest"])
    story["decision_with_A"] = result["decision_id"]


def test_upload_with_warnings_is_proposed_and_returns_them(
    app: FastAPI, client: TestClient, tokens: dict[str, str], story: dict[str, Any]
) -> None:
    files = ruleset_files(**{"cancel_below: 60": "cancel_below: 55"})  # leaves scores 55–60 untreated
    response = upload_revision(client, tokens["maintainer"], files)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["state"] == "proposed"
    assert created["proposed_by"] == created["created_by"]
    assert created["warnings"], created
    warning = created["warnings"][0]
    assert warning["source"] == "rulesets/wuding-county.yaml" and warning["loc"][0] == "rules"
    assert "55" in warning["message"] and "60" in warning["message"]
    story["W"] = created["revision"]
    audit = _audit_rows(app, f"wuding-county@{created['revision']}")
    assert [r["action"] for r in audit] == ["ruleset.proposed"]
    assert json.loads(audit[0]["input_json"])["reason"] == "test upload"


def test_upload_with_errors_is_422_listing_every_problem(client: TestClient, tokens: dict[str, str]) -> None:
    files = ruleset_files(**{"cut_rate: 0.10": "cut_rate: 1.5", "precedence: 3}": "precedence: 2}"})
    files["policies/broken.yaml"] = "id: broken\n"
    response = upload_revision(client, tokens["maintainer"], files)
    assert response.status_code == 422, response.text
    error = _error(response)
    assert error["code"] == "invalid_ruleset"
    found = {(d["source"], tuple(d["loc"])) for d in error["details"]}
    # bindings are counted from 0; protect-essential is binding 0
    assert ("rulesets/wuding-county.yaml", ("policies", 4, "params", "cut_rate")) in found
    assert ("rulesets/wuding-county.yaml", ("policies", 3, "precedence")) in found
    assert ("policies/broken.yaml", ("title",)) in found
    assert all(d["severity"] == "error" for d in error["details"])


def test_upload_refuses_odd_file_names_and_a_wrong_id(client: TestClient, tokens: dict[str, str]) -> None:
    files = {**ruleset_files(), "../etc/passwd.yaml": "x: 1"}
    response = upload_revision(client, tokens["maintainer"], files)
    assert response.status_code == 422
    assert any("../etc/passwd.yaml" in d["loc"] for d in _error(response)["details"])
    response = upload_revision(client, tokens["maintainer"], ruleset_files(), ruleset_id="other-ruleset")
    assert response.status_code == 422
    assert "rulesets/other-ruleset.yaml is missing" in response.text


def test_identical_content_is_the_same_revision(client: TestClient, tokens: dict[str, str]) -> None:
    response = upload_revision(client, tokens["maintainer"], ruleset_files())
    assert response.status_code == 409
    assert _error(response)["code"] == "revision_exists"


def test_reason_is_required(client: TestClient, tokens: dict[str, str], story: dict[str, Any]) -> None:
    response = client.post(revision_path(story["W"], "approve"), json={}, headers=bearer(tokens["approver"]))
    assert response.status_code == 422
    response = client.post(
        revision_path(story["W"], "approve"), json={"reason": ""}, headers=bearer(tokens["approver"])
    )
    assert response.status_code == 422


def test_draft_then_propose_then_approve_by_another_person(
    app: FastAPI, client: TestClient, tokens: dict[str, str], story: dict[str, Any]
) -> None:
    draft = upload_revision(client, tokens["maintainer"], variant(1), draft=True).json()
    assert draft["state"] == "draft" and draft["proposed_by"] is None
    refused = transition(client, tokens["approver"], draft["revision"], "approve")
    assert refused.status_code == 409 and _error(refused)["code"] == "invalid_transition"
    proposed = transition(client, story["maintainer2"], draft["revision"], "propose")
    assert proposed.status_code == 200 and proposed.json()["state"] == "proposed"
    approved = transition(client, tokens["approver"], draft["revision"], "approve", reason="checked the fragments")
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"] != approved.json()["proposed_by"]
    story["B"] = draft["revision"]
    actions = [r["action"] for r in _audit_rows(app, f"wuding-county@{story['B']}")]
    assert actions == ["ruleset.draft", "ruleset.propose", "ruleset.approve"]


def test_the_proposer_cannot_approve(app: FastAPI, client: TestClient, tokens: dict[str, str]) -> None:
    """Token names are unique, so one person is one name: a maintainer who becomes approver keeps the name."""
    from service.api.tokens.service import revoke_token
    from tests.api.conftest import SECRET

    maintainer = extra_token(app, "maintainer", name="alice")
    created = upload_revision(client, maintainer, variant(2)).json()
    with app.state.budget_rules.db.transaction() as session:
        revoke_token(session, "alice", secret=SECRET)
    alice_approver = extra_token(app, "approver", name="alice")
    response = transition(client, alice_approver, created["revision"], "approve")
    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "same_person"
    assert "alice" in error["message"] and "another token holder" in error["message"]
    assert transition(client, tokens["approver"], created["revision"], "approve").status_code == 200


def test_overlapping_active_years_are_409_naming_the_other_revision(
    client: TestClient, tokens: dict[str, str], story: dict[str, Any]
) -> None:
    response = transition(client, tokens["approver"], story["B"], "activate")
    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "effective_years_overlap"
    assert story["A"] in error["message"] and "2021–onwards" in error["message"]
    response = transition(client, tokens["approver"], story["B"], "activate", from_year=2023, to_year=2025)
    assert response.status_code == 409 and "2023–2025" in _error(response)["message"]
    response = transition(client, tokens["approver"], story["B"], "activate", from_year=2024, to_year=2022)
    assert response.status_code == 422


def test_activation_swaps_and_years_choose_the_revision(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], story: dict[str, Any]
) -> None:
    a, b = story["A"], story["B"]
    swapped = transition(client, tokens["approver"], b, "activate", from_year=2022, to_year=None, replaces=[a])
    assert swapped.status_code == 200, swapped.text
    assert swapped.json()["active_years"] == {"from_year": 2022, "to_year": None}
    assert client.get(revision_path(a), headers=bearer(tokens["auditor"])).json()["state"] == "retired"
    assert _recommend(client, tokens, demo_request, fiscal_year=2022).json()["ruleset"]["revision"] == b
    gap = _recommend(client, tokens, demo_request)  # 2021: A retired, B from 2022
    assert gap.status_code == 422 and _error(gap)["code"] == "unknown_ruleset"
    assert f"{b} for 2022–onwards" in _error(gap)["message"]

    # Rollback of A for 2021: the same approval path again (propose, approve by another person, activate).
    assert transition(client, tokens["approver"], a, "approve").status_code == 409  # retired: propose first
    assert transition(client, tokens["maintainer"], a, "propose", reason="roll back 2021").status_code == 200
    assert transition(client, tokens["maintainer"], a, "approve").status_code == 403
    assert transition(client, tokens["approver"], a, "approve").status_code == 200
    activated = transition(client, tokens["approver"], a, "activate", from_year=2021, to_year=2021)
    assert activated.status_code == 200, activated.text

    assert _recommend(client, tokens, demo_request).json()["ruleset"]["revision"] == a
    assert _recommend(client, tokens, demo_request, fiscal_year=2023).json()["ruleset"]["revision"] == b
    pinned = _recommend(client, tokens, demo_request, ruleset=f"wuding-county@{b}")
    assert pinned.status_code == 200 and pinned.json()["ruleset"]["revision"] == b
    listed = client.get("/v1/rulesets", headers=bearer(tokens["compiler"])).json()["items"]
    active = {r["revision"]: (r["from_year"], r["to_year"]) for r in listed[1]["active"]}
    assert active == {a: (2021, 2021), b: (2022, None)}


def test_pinned_revision_must_be_approved(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], story: dict[str, Any]
) -> None:
    response = _recommend(client, tokens, demo_request, ruleset=f"wuding-county@{story['W']}")  # only proposed
    assert response.status_code == 422
    assert "proposed" in _error(response)["message"]
    response = _recommend(client, tokens, demo_request, ruleset="wuding-county@000000000000")
    assert response.status_code == 422 and _error(response)["code"] == "unknown_ruleset"


def test_replay_of_an_old_decision_uses_its_revision_even_without_the_files(
    client: TestClient, tokens: dict[str, str], story: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("BUDGET_RULES_HOME", str(tmp_path))  # the policy files are gone
    report = client.post(f"/v1/decisions/{story['decision_with_A']}/replay", headers=bearer(tokens["auditor"]))
    assert report.status_code == 200, report.text
    assert report.json()["identical"] is True
    assert report.json()["ruleset"]["revision"] == story["A"]


def test_replay_refuses_a_tampered_revision(
    app: FastAPI, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], story: dict[str, Any]
) -> None:
    decision = _recommend(client, tokens, demo_request, ruleset=f"wuding-county@{story['B']}").json()
    app.state.budget_rules.engines.close()  # forget the compiled cache: the next use reads the database
    with app.state.budget_rules.db.engine.begin() as connection:
        original = connection.execute(
            text("SELECT ruleset_json FROM ruleset_revisions WHERE revision = :r"), {"r": story["B"]}
        ).scalar_one()
        connection.execute(
            text("UPDATE ruleset_revisions SET ruleset_json = :j WHERE revision = :r"),
            {"j": original.replace('"precedence":10', '"precedence":11'), "r": story["B"]},
        )
    try:
        response = client.post(f"/v1/decisions/{decision['decision_id']}/replay", headers=bearer(tokens["auditor"]))
        assert response.status_code == 500
        assert _error(response)["code"] == "corrupt_revision"
    finally:
        with app.state.budget_rules.db.engine.begin() as connection:
            connection.execute(
                text("UPDATE ruleset_revisions SET ruleset_json = :j WHERE revision = :r"),
                {"j": original, "r": story["B"]},
            )
        app.state.budget_rules.engines.close()


def test_diff_between_revisions_in_json_and_both_languages(
    client: TestClient, tokens: dict[str, str], story: dict[str, Any]
) -> None:
    response = client.get(
        revision_path(story["B"], "diff"), params={"against": story["A"]}, headers=bearer(tokens["auditor"])
    )
    assert response.status_code == 200, response.text
    diff = response.json()
    assert diff["from"]["revision"] == story["A"] and diff["to"]["revision"] == story["B"]
    assert diff["parameters_changed"] == [
        {"policy": "overlap-review", "parameter": "fragment_below", "old": "100000", "new": "100001"}
    ]
    assert diff["text"]["en"][0] == "overlap-review parameter fragment_below: 100000 → 100001"
    assert "参数" in diff["text"]["zh"][0]
    default = client.get(revision_path(story["W"], "diff"), headers=bearer(tokens["auditor"])).json()
    assert default["from"]["revision"] == story["A"]  # the revision active for W's first year (2021)
    assert default["parameters_changed"][0]["parameter"] == "cancel_below"
    missing = client.get(revision_path("0" * 12, "diff"), headers=bearer(tokens["auditor"]))
    assert missing.status_code == 404


def test_impact_preview_on_an_inline_request_and_on_a_dataset(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], story: dict[str, Any]
) -> None:
    request = small_request(demo_request, departments=6)
    response = client.post(
        revision_path(story["W"], "impact"), content=dumps(request), headers=bearer(tokens["analyst"])
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["current"]["revision"] == story["A"] and report["proposed"]["revision"] == story["W"]
    assert report["fiscal_year"] == 2021
    assert {"totals_before", "totals_after", "departments", "lines"} <= set(report)
    dataset = client.post("/v1/datasets", content=dumps(request), headers=bearer(tokens["compiler"])).json()
    by_dataset = client.post(
        revision_path(story["W"], "impact"), json={"dataset_id": dataset["id"]}, headers=bearer(tokens["approver"])
    )
    assert by_dataset.status_code == 200, by_dataset.text
    assert by_dataset.json()["lines"] == report["lines"]


def test_engines_free_what_is_not_active(app: FastAPI, client: TestClient, tokens: dict[str, str]) -> None:
    """Pinned, replayed and previewed revisions are built for the call and freed after it."""
    engines = app.state.budget_rules.engines
    client.get("/v1/rulesets", headers=bearer(tokens["auditor"]))
    active = {a.digest for a in engines.active_revisions()}
    assert engines.open_matchers() <= len(active)


def test_retire_stops_a_revision_everywhere(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], story: dict[str, Any]
) -> None:
    retired = transition(client, tokens["approver"], story["W"], "retire", reason="superseded by B")
    assert retired.status_code == 200 and retired.json()["state"] == "retired"
    again = transition(client, tokens["approver"], story["W"], "retire")
    assert again.status_code == 409 and _error(again)["code"] == "invalid_transition"


DISCLOSURE = {
    "fiscal_year": 2021,
    "departments": [
        {
            "department_id": "D2",
            "name": "县民政局",
            "budget_approved_on": "2021-02-01",
            "targets_disclosed_on": "2021-03-05",
            "report_formed_on": "2021-03-01",
            "report_disclosed_on": "2021-04-02",
        },
        {"department_id": "T1", "name": "狮山镇", "kind": "township", "budget_approved_on": "2021-02-01"},
    ],
}


def test_disclosure_review_uses_the_active_revision_and_is_audited(
    app: FastAPI, client: TestClient, tokens: dict[str, str]
) -> None:
    response = client.post("/v1/disclosure-reviews", content=dumps(DISCLOSURE), headers=bearer(tokens["compiler"]))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ruleset"]["revision"] == shipped_revision("disclosure-compliance")
    assert result["summary"]["counts"] == {"compliant": 0, "flagged": 2}
    record = _audit_rows(app, result["decision_id"])[0]
    assert record["action"] == "disclosure_review" and record["seq"] == int(response.headers["X-Audit-Seq"])
    assert json.loads(record["result_json"]) == result
    bad = client.post(
        "/v1/disclosure-reviews", content=dumps({**DISCLOSURE, "fiscal_year": 1999}), headers=bearer(tokens["compiler"])
    )
    assert bad.status_code == 422
    wrong = client.post(
        "/v1/disclosure-reviews",
        content=dumps({**DISCLOSURE, "ruleset": "wuding-county"}),
        headers=bearer(tokens["compiler"]),
    )
    assert wrong.status_code == 422 and _error(wrong)["code"] == "unknown_ruleset"


def test_the_audit_chain_still_verifies(client: TestClient, tokens: dict[str, str]) -> None:
    verification = client.get("/v1/audit/verify", headers=bearer(tokens["auditor"])).json()
    assert verification["ok"] is True, verification


def test_a_restart_with_changed_files_serves_the_stored_revisions(
    database_url: str,
    client: TestClient,
    tokens: dict[str, str],
    demo_request: dict[str, Any],
    story: dict[str, Any],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    from service.api import create_app
    from tests.api.conftest import REPO, make_settings

    for name in ("policies", "rulesets"):
        shutil.copytree(REPO / name, tmp_path / name)
    (tmp_path / "policies" / "cut-inefficient.yaml").write_text("id: cut-inefficient\n", encoding="utf-8")
    monkeypatch.setenv("BUDGET_RULES_HOME", str(tmp_path))  # the files are now broken: installed already
    with TestClient(create_app(make_settings(database_url), migrate=False)) as restarted:
        response = restarted.post(
            "/v1/recommendations", content=dumps(small_request(demo_request)), headers=bearer(tokens["compiler"])
        )
        assert response.status_code == 200, response.text
        assert response.json()["ruleset"]["revision"] == story["A"]
