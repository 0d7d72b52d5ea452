"""Budget drafts over HTTP (编制方案 → 定稿), on SQLite and PostgreSQL.

From a recorded recommendation to a final draft: adjustments with reasons, the deviation report to the
fen, submission refused over the envelope (saying by how much), maker-checker by person (also when the
token names differ only in case), immutability of a final draft and its next version, compare, replay
and verify, every change an audit record; and every bad input refused with nothing stored.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import bearer, extra_token, small_request


def _tok(app: FastAPI, role: str, name: str | None = None) -> str:
    return extra_token(app, role, name)


@pytest.fixture(scope="module")
def decision(client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/recommendations", json=small_request(demo_request), headers=bearer(tokens["compiler"]))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _create(client: TestClient, token: str, decision_id: str, name: str = "2021年年初预算 第一稿", **extra: Any) -> Any:
    return client.post("/v1/drafts", json={"decision_id": decision_id, "name": name, **extra}, headers=bearer(token))


def _adjust(client: TestClient, token: str, draft_id: str, project_id: str, body: dict[str, Any]) -> Any:
    return client.put(f"/v1/drafts/{draft_id}/lines/{project_id}", json=body, headers=bearer(token))


def _post(client: TestClient, token: str, draft_id: str, action: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/v1/drafts/{draft_id}/{action}", json=body or {}, headers=bearer(token))


def _audit_count(client: TestClient, tokens: dict[str, str]) -> int:
    response = client.get("/v1/audit/head", headers=bearer(tokens["auditor"]))
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


def _draft(client: TestClient, token: str, draft_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/drafts/{draft_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_from_recommendation_to_final_with_maker_checker_by_person(
    app: FastAPI, client: TestClient, tokens: dict[str, str], decision: dict[str, Any]
) -> None:
    person = f"Wang.Fang-{uuid.uuid4().hex[:6]}"
    compiler = _tok(app, "compiler", person)
    same_person_approver = _tok(app, "approver", person.upper())  # another token of the same person
    approver = _tok(app, "approver")
    lines = decision["lines"]
    excluded = next((ln for ln in lines if ln["status"] in ("excluded", "cancelled")), lines[-1])
    first, second = lines[0], lines[1]
    before = _audit_count(client, tokens)

    created = _create(client, compiler, decision["decision_id"])
    assert created.status_code == 201, created.text
    draft = created.json()
    draft_id = draft["draft_id"]
    assert draft["state"] == "editing" and draft["version"] == 1
    assert draft["totals"]["final"] == draft["totals"]["recommended"] == decision["summary"]["totals"]["recommended"]

    raise_to = Decimal(first["recommended"]) + Decimal("1234.56")
    cut_to = max(Decimal(second["recommended"]) - Decimal("1000.01"), Decimal("0.00"))
    for pid, amount, reason in (
        (first["project_id"], f"{raise_to:.2f}", "县委常委会议定：增加配套"),
        (second["project_id"], f"{cut_to:.2f}", "项目进度滞后，压减"),
        (excluded["project_id"], "50000.00", "上级专项要求安排，人工纳入"),
    ):
        response = _adjust(client, compiler, draft_id, pid, {"amount": amount, "reason": reason})
        assert response.status_code == 200, response.text
    draft = _draft(client, compiler, draft_id)
    by_id = {ln["project_id"]: ln for ln in draft["lines"]}
    assert by_id[first["project_id"]]["final"] == f"{raise_to:.2f}"
    assert by_id[first["project_id"]]["recommended"] == first["recommended"]  # the recommendation is untouched
    stored = client.get(f"/v1/decisions/{decision['decision_id']}", headers=bearer(tokens["compiler"])).json()
    assert stored["result"] == decision

    report = client.get(f"/v1/drafts/{draft_id}/deviations", headers=bearer(compiler)).json()
    rows = {r["project_id"]: r for r in report["lines"]}
    expected_diffs = {
        first["project_id"]: raise_to - Decimal(first["recommended"]),
        second["project_id"]: cut_to - Decimal(second["recommended"]),
        excluded["project_id"]: Decimal("50000.00") - Decimal(excluded["recommended"]),
    }
    expected_diffs = {k: v for k, v in expected_diffs.items() if v != 0}
    assert {k: Decimal(r["difference"]) for k, r in rows.items()} == expected_diffs
    assert rows[first["project_id"]]["reason"] == "县委常委会议定：增加配套"
    assert rows[first["project_id"]]["adjusted_by"] == person
    assert rows[first["project_id"]]["adjusted_at"].endswith("+00:00")  # aware UTC on both databases
    up = sum((v for v in expected_diffs.values() if v > 0), Decimal("0.00"))
    down = sum((-v for v in expected_diffs.values() if v < 0), Decimal("0.00"))
    assert (Decimal(report["totals"]["up"]), Decimal(report["totals"]["down"])) == (up, down)
    assert sum(Decimal(d["net"]) for d in report["departments"]) == up - down
    assert Decimal(draft["totals"]["final"]) - Decimal(draft["totals"]["recommended"]) == up - down

    submitted = _post(client, compiler, draft_id, "submit")
    assert submitted.status_code == 200, submitted.text
    assert _adjust(client, compiler, draft_id, first["project_id"], {"amount": "1", "reason": "x"}).status_code == 409

    refused = _post(client, same_person_approver, draft_id, "approve")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "same_person", refused.text
    assert _post(client, compiler, draft_id, "approve").status_code == 403  # a compiler is no approver

    returned = _post(client, approver, draft_id, "return", {"comment": "请补充增加配套的依据"})
    assert returned.status_code == 200 and returned.json()["state"] == "returned", returned.text
    again = _adjust(
        client, compiler, draft_id, first["project_id"], {"amount": f"{raise_to:.2f}", "reason": "依据已补"}
    )
    assert again.status_code == 200
    assert _post(client, compiler, draft_id, "submit").status_code == 200

    approved = _post(client, approver, draft_id, "approve", {"comment": "同意"})
    assert approved.status_code == 200, approved.text
    final = approved.json()
    assert final["state"] == "final" and final["approved_by"] and final["comment"] == "同意"

    edit = _adjust(client, compiler, draft_id, first["project_id"], {"amount": "1.00", "reason": "改"})
    assert edit.status_code == 409 and edit.json()["error"]["code"] == "draft_final"
    assert _post(client, compiler, draft_id, "submit").json()["error"]["code"] == "draft_final"
    assert _post(client, approver, draft_id, "approve").json()["error"]["code"] == "draft_final"
    assert _draft(client, compiler, draft_id)["totals"] == final["totals"]

    replay = client.get(f"/v1/drafts/{draft_id}/replay", headers=bearer(tokens["auditor"])).json()
    assert replay["reproduced"] is True and replay["final_total_replayed"] == final["totals"]["final"], replay
    actions = [e["action"] for e in final["events"]]
    assert actions == [
        "draft-create",
        "draft-adjust",
        "draft-adjust",
        "draft-adjust",
        "draft-submit",
        "draft-return",
        "draft-adjust",
        "draft-submit",
        "draft-approve",
    ]
    assert _audit_count(client, tokens) == before + len(actions)
    records = client.get("/v1/audit/verify", headers=bearer(tokens["auditor"])).json()
    assert records["ok"] is True

    version = _create(client, compiler, decision["decision_id"], "2021年年初预算 第二稿", previous_id=draft_id)
    assert version.status_code == 201, version.text
    second_version = version.json()
    assert second_version["version"] == 2 and second_version["state"] == "editing"
    assert second_version["totals"]["final"] == final["totals"]["final"]  # the adjustments carried over
    compared = client.get(
        "/v1/compare/drafts", params={"a": draft_id, "b": second_version["draft_id"]}, headers=bearer(compiler)
    ).json()
    assert compared["lines"] == [] and compared["totals"]["difference"] == "0.00"
    _adjust(client, compiler, second_version["draft_id"], second["project_id"], {"amount": "0.00", "reason": "取消"})
    compared = client.get(
        "/v1/compare/drafts", params={"a": draft_id, "b": second_version["draft_id"]}, headers=bearer(compiler)
    ).json()
    assert [ln["project_id"] for ln in compared["lines"]] == [second["project_id"]]
    assert Decimal(compared["totals"]["difference"]) == -cut_to
    verify = client.get("/v1/drafts/verify", headers=bearer(tokens["auditor"])).json()
    assert verify == {"ok": True, "problems": []}


def test_submit_over_the_envelope_says_by_how_much(app: FastAPI, client: TestClient, decision: dict[str, Any]) -> None:
    compiler = _tok(app, "compiler")
    draft_id = _create(client, compiler, decision["decision_id"]).json()["draft_id"]
    envelope = Decimal(decision["envelope"])
    recommended = Decimal(decision["summary"]["totals"]["recommended"])
    line = decision["lines"][0]
    over_by = Decimal("0.01")
    amount = Decimal(line["recommended"]) + (envelope - recommended) + over_by
    assert (
        _adjust(client, compiler, draft_id, line["project_id"], {"amount": f"{amount:.2f}", "reason": "r"}).status_code
        == 200
    )
    refused = _post(client, compiler, draft_id, "submit")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "over_envelope" and "超出0.01元" in error["message"]
    assert error["details"][0]["over_by"] == "0.01"
    assert _draft(client, compiler, draft_id)["state"] == "editing"
    fits = f"{amount - over_by:.2f}"
    assert _adjust(client, compiler, draft_id, line["project_id"], {"amount": fits, "reason": "r"}).status_code == 200
    assert _post(client, compiler, draft_id, "submit").status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"amount": "100.00"}, "reason", "required"),
        ({"amount": "100.00", "reason": "   "}, "reason", "required"),
        ({"amount": "-0.01", "reason": "r"}, "amount", "negative"),
        ({"amount": "1.001", "reason": "r"}, "amount", "decimal"),
        ({"amount": "abc", "reason": "r"}, "amount", ""),
        ({"amount": True, "reason": "r"}, "amount", "boolean"),
        ({"reason": "r"}, "amount", "required"),
        ({"amount": "99999999999999.00", "reason": "r"}, "amount", ""),
        ({"amount": "1.00", "reason": "x" * 1001}, "reason", "at most"),
    ],
)
def test_bad_adjustments_are_refused_and_nothing_is_stored(
    app: FastAPI,
    client: TestClient,
    tokens: dict[str, str],
    decision: dict[str, Any],
    body: dict[str, Any],
    field: str,
    words: str,
) -> None:
    compiler = _tok(app, "compiler")
    draft_id = _create(client, compiler, decision["decision_id"]).json()["draft_id"]
    pid = decision["lines"][0]["project_id"]
    before, audit_before = _draft(client, compiler, draft_id), _audit_count(client, tokens)
    response = _adjust(client, compiler, draft_id, pid, body)
    assert response.status_code == 422, response.text
    detail = response.json()["error"]["details"][0]
    assert detail["loc"][-1] == field and words in detail["message"]
    if field == "amount":
        assert detail["record"] == f"project_id {pid}"
    assert _draft(client, compiler, draft_id) == before
    assert _audit_count(client, tokens) == audit_before


def test_unknown_things_and_wrong_roles(
    app: FastAPI, client: TestClient, tokens: dict[str, str], decision: dict[str, Any]
) -> None:
    compiler = _tok(app, "compiler")
    assert _create(client, compiler, str(uuid.uuid4())).status_code == 404
    assert _create(client, compiler, decision["decision_id"], name=" ").status_code == 422
    assert _create(client, tokens["analyst"], decision["decision_id"]).status_code == 403
    assert client.post("/v1/drafts", json={"decision_id": decision["decision_id"], "name": "n"}).status_code == 401
    draft_id = _create(client, compiler, decision["decision_id"]).json()["draft_id"]
    assert _adjust(client, compiler, draft_id, "NO-SUCH-LINE", {"amount": "1", "reason": "r"}).status_code == 404
    assert (
        _adjust(
            client, tokens["approver"], draft_id, decision["lines"][0]["project_id"], {"amount": "1", "reason": "r"}
        ).status_code
        == 403
    )
    assert client.get(f"/v1/drafts/{uuid.uuid4()}", headers=bearer(compiler)).status_code == 404
    assert client.get(f"/v1/drafts/{draft_id}", headers=bearer(tokens["analyst"])).status_code == 403
    approver = _tok(app, "approver")
    not_submitted = _post(client, approver, draft_id, "approve")
    assert not_submitted.status_code == 409 and not_submitted.json()["error"]["code"] == "draft_not_submitted"
    assert _post(client, compiler, draft_id, "submit").status_code == 200
    no_comment = _post(client, approver, draft_id, "return", {"comment": ""})
    assert no_comment.status_code == 422 and no_comment.json()["error"]["details"][0]["loc"] == ["comment"]


def test_the_person_who_adjusted_cannot_approve(app: FastAPI, client: TestClient, decision: dict[str, Any]) -> None:
    """Maker-checker covers every maker: here an adjuster whose compiler token differs from the creator's."""
    person = f"zhao-{uuid.uuid4().hex[:6]}"
    creator, adjuster = _tok(app, "compiler"), _tok(app, "compiler", person)
    draft_id = _create(client, creator, decision["decision_id"]).json()["draft_id"]
    pid = decision["lines"][0]["project_id"]
    assert _adjust(client, adjuster, draft_id, pid, {"amount": "0.00", "reason": "停止实施"}).status_code == 200
    assert _post(client, creator, draft_id, "submit").status_code == 200
    same = _post(client, _tok(app, "approver", person.title()), draft_id, "approve")
    assert same.status_code == 403 and same.json()["error"]["code"] == "same_person"
    assert _post(client, _tok(app, "approver"), draft_id, "approve").status_code == 200


def test_compare_two_recommendations(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], decision: dict[str, Any]
) -> None:
    request = small_request(demo_request)
    half = Decimal(decision["summary"]["totals"]["recommended"]) / 2
    request["envelope"] = f"{half:.2f}"  # tighter: some lines get less
    other = client.post("/v1/recommendations", json=request, headers=bearer(tokens["compiler"])).json()
    compared = client.get(
        "/v1/compare/recommendations",
        params={"a": decision["decision_id"], "b": other["decision_id"]},
        headers=bearer(tokens["compiler"]),
    ).json()
    a = Decimal(decision["summary"]["totals"]["recommended"])
    b = Decimal(other["summary"]["totals"]["recommended"])
    assert (Decimal(compared["totals"]["a"]), Decimal(compared["totals"]["b"])) == (a, b)
    changed = {ln["project_id"] for ln in compared["lines"]}
    expected = {
        x["project_id"]
        for x, y in zip(decision["lines"], other["lines"], strict=True)
        if x["recommended"] != y["recommended"]
    }
    assert changed == expected and changed


def test_verify_finds_a_tampered_adjustment(
    app: FastAPI, client: TestClient, tokens: dict[str, str], decision: dict[str, Any]
) -> None:
    from sqlmodel import select

    from service.storage.drafts import AdjustmentRow

    compiler = _tok(app, "compiler")
    draft_id = _create(client, compiler, decision["decision_id"]).json()["draft_id"]
    pid = decision["lines"][0]["project_id"]
    assert _adjust(client, compiler, draft_id, pid, {"amount": "10.00", "reason": "r"}).status_code == 200

    def set_amount(amount: str) -> None:
        with app.state.budget_rules.db.transaction() as session:
            row = session.exec(select(AdjustmentRow).where(AdjustmentRow.draft_id == draft_id)).one()
            row.amount = amount
            session.add(row)

    set_amount("99.00")
    try:
        replay = client.get(f"/v1/drafts/{draft_id}/replay", headers=bearer(tokens["auditor"])).json()
        assert replay["reproduced"] is False and any(pid in p for p in replay["problems"])
        verify = client.get("/v1/drafts/verify", headers=bearer(tokens["auditor"])).json()
        assert verify["ok"] is False and draft_id in {p["draft_id"] for p in verify["problems"]}
    finally:
        set_amount("10.00")  # the module's other tests verify every draft
    assert client.get(f"/v1/drafts/{draft_id}/replay", headers=bearer(tokens["auditor"])).json()["reproduced"]


def test_concurrent_adjustments_and_approvals_keep_one_story(
    app: FastAPI, client: TestClient, tokens: dict[str, str], decision: dict[str, Any]
) -> None:
    """Eight lines adjusted at once all land, each with its audit record; of two approvals at once, one wins."""
    from concurrent.futures import ThreadPoolExecutor

    compiler = _tok(app, "compiler")
    draft_id = _create(client, compiler, decision["decision_id"]).json()["draft_id"]
    lines = decision["lines"][:8]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(
                lambda ln: _adjust(client, compiler, draft_id, ln["project_id"], {"amount": "1.00", "reason": "并发"}),
                lines,
            )
        )
    assert [a.status_code for a in answers] == [200] * len(lines)
    draft = _draft(client, compiler, draft_id)
    assert sum(1 for ln in draft["lines"] if ln["adjusted"]) == len(lines)
    assert [e["action"] for e in draft["events"]].count("draft-adjust") == len(lines)
    assert Decimal(draft["totals"]["final"]) <= Decimal(draft["envelope"])
    assert _post(client, compiler, draft_id, "submit").status_code == 200
    approvers = [_tok(app, "approver"), _tok(app, "approver")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda tok: _post(client, tok, draft_id, "approve"), approvers))
    assert sorted(r.status_code for r in results) == [200, 409]
    assert [e["action"] for e in _draft(client, compiler, draft_id)["events"]].count("draft-approve") == 1
    assert client.get("/v1/audit/verify", headers=bearer(tokens["auditor"])).json()["ok"] is True
    assert client.get(f"/v1/drafts/{draft_id}/replay", headers=bearer(compiler)).json()["reproduced"] is True


def test_protection_on_a_basic_line_is_422_naming_record_and_field(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    """POLICIES.md: a protection other than none only on kind project (here over HTTP; nothing recorded)."""
    request = small_request(demo_request)
    basic = next(p for p in request["projects"] if p.get("kind") == "public_operating")
    basic["protection"] = "operations"
    before = _audit_count(client, tokens)
    response = client.post("/v1/recommendations", json=request, headers=bearer(tokens["compiler"]))
    assert response.status_code == 422, response.text
    [detail] = response.json()["error"]["details"]
    index = request["projects"].index(basic)
    assert (
        detail["loc"] == ["projects", index, "protection"] and detail["record"] == f"project_id {basic['project_id']}"
    )
    assert _audit_count(client, tokens) == before
