"""Revisions from parameter changes, return with a comment, review and history over HTTP (issue 15).

One story per database (SQLite and PostgreSQL), in order: the maintainer proposes a cut rate of 15% and
switches department tilt off; the approver returns it; the maintainer switches tilt on again on top of the
returned revision and proposes; the approver approves and activates; the next recommendation cuts 15%.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import bearer, dumps, extra_token, revision_path, shipped_revision, small_request

URL = "/v1/rulesets/wuding-county/revisions"


@pytest.fixture(scope="module")
def story(app: FastAPI) -> dict[str, Any]:
    return {"A": shipped_revision()}


def _count(client: TestClient, token: str) -> int:
    response = client.get(URL, headers=bearer(token))
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


def _error(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def test_bad_parameter_changes_are_refused_naming_the_field_and_store_nothing(
    client: TestClient, tokens: dict[str, str], story: dict[str, Any]
) -> None:
    m = bearer(tokens["maintainer"])
    before = _count(client, tokens["maintainer"])
    cases = [
        ({"parameters": {"cut-inefficient": {"cut_rate": "1.5"}}}, ["parameters", "cut-inefficient", "cut_rate"]),
        ({"parameters": {"cut-inefficient": {"cut_rate": "lots"}}}, ["parameters", "cut-inefficient", "cut_rate"]),
        ({"parameters": {"cut-inefficient": {"cut_speed": "0.2"}}}, ["parameters", "cut-inefficient", "cut_speed"]),
        ({"parameters": {"no-such-policy": {"x": 1}}}, ["parameters", "no-such-policy"]),
        ({"parameters": {"reclaim-idle": {"min_years": 0}}}, ["parameters", "reclaim-idle", "min_years"]),
        (
            {"parameters": {"overlap-review": {"fragment_below": "100.001"}}},
            ["parameters", "overlap-review", "fragment_below"],
        ),
        ({"enabled": {"department-tilt": "no"}}, ["enabled", "department-tilt"]),
        ({"parameters": {"cut-inefficient": {"cut_rate": "0.10"}}}, ["parameters"]),  # nothing changes
    ]
    for change, loc in cases:
        body = {"base": story["A"], "reason": "test", **change}
        response = client.post(URL, json=body, headers=m)
        assert response.status_code == 422, (change, response.text)
        assert loc in [d["loc"] for d in _error(response)["details"]], (change, response.text)
    no_reason = {"base": story["A"], "parameters": {"cut-inefficient": {"cut_rate": "0.15"}}}
    response = client.post(URL, json=no_reason, headers=m)
    assert response.status_code == 422 and _error(response)["details"][0]["loc"] == ["reason"]
    unknown_base = {**no_reason, "base": "0123456789ab", "reason": "x"}
    assert client.post(URL, json=unknown_base, headers=m).status_code == 404
    assert _count(client, tokens["maintainer"]) == before


def test_only_maintainers_create_revisions_from_parameters(
    client: TestClient, tokens: dict[str, str], story: dict[str, Any]
) -> None:
    body = {"base": story["A"], "parameters": {"cut-inefficient": {"cut_rate": "0.15"}}, "reason": "x"}
    for role in ("approver", "compiler", "analyst", "auditor", "admin"):
        response = client.post(URL, json=body, headers=bearer(tokens[role]))
        assert response.status_code == 403, (role, response.text)
    assert client.post(URL, json=body).status_code == 401


def test_a_maintainer_proposes_a_cut_rate_of_15_percent(
    client: TestClient, tokens: dict[str, str], story: dict[str, Any]
) -> None:
    body = {
        "base": story["A"],
        "parameters": {"cut-inefficient": {"cut_rate": "0.15"}},
        "enabled": {"department-tilt": False},
        "reason": "压减力度不足，按县政府要求提高到15%",
    }
    response = client.post(URL, json=body, headers=bearer(tokens["maintainer"]))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["state"] == "draft" and created["base"] == story["A"]
    story["R1"] = created["revision"]
    again = client.post(URL, json=body, headers=bearer(tokens["maintainer"]))
    assert again.status_code == 409 and _error(again)["code"] == "revision_exists"

    review = client.get(revision_path(story["R1"], "review"), headers=bearer(tokens["approver"])).json()
    assert review["reason"] == body["reason"]
    assert review["replaces"] == story["A"]
    words = [c["zh"] for c in review["changes"]]
    assert "绩效一般项目压减：压减比例 10% → 15%" in words
    assert "部门整体绩效好的适当倾斜：停用" in words
    assert "Cut middling performers: Cut rate 10% → 15%" in [c["en"] for c in review["changes"]]

    proposed = client.post(
        revision_path(story["R1"], "propose"), json={"reason": "请审核"}, headers=bearer(tokens["maintainer"])
    )
    assert proposed.status_code == 200, proposed.text


def test_the_approver_returns_it_with_a_comment(
    app: FastAPI, client: TestClient, tokens: dict[str, str], story: dict[str, Any]
) -> None:
    path = revision_path(story["R1"], "return")
    assert client.post(path, json={"comment": "x"}, headers=bearer(tokens["maintainer"])).status_code == 403
    missing = client.post(path, json={"comment": "  "}, headers=bearer(tokens["approver"]))
    assert missing.status_code == 422 and _error(missing)["details"][0]["loc"] == ["comment"]
    comment = "部门倾斜政策是县里的既定政策，不能停用；压减比例可以提高。"
    response = client.post(path, json={"comment": comment}, headers=bearer(tokens["approver"]))
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "returned"
    assert response.json()["returned"]["comment"] == comment
    # a returned revision is neither approved nor returned again
    again = client.post(path, json={"comment": comment}, headers=bearer(tokens["approver"]))
    assert again.status_code == 409
    approve = client.post(
        revision_path(story["R1"], "approve"), json={"reason": "x"}, headers=bearer(tokens["approver"])
    )
    assert approve.status_code == 409
    seen = client.get(revision_path(story["R1"], "review"), headers=bearer(tokens["maintainer"])).json()
    assert seen["returned"]["comment"] == comment


def test_the_maintainer_revises_on_the_returned_revision_and_proposes_again(
    client: TestClient, tokens: dict[str, str], story: dict[str, Any]
) -> None:
    body = {
        "base": story["R1"],
        "enabled": {"department-tilt": True},
        "reason": "按审核意见恢复部门倾斜，仅提高压减比例",
        "propose": True,
    }
    response = client.post(URL, json=body, headers=bearer(tokens["maintainer"]))
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "proposed"
    story["R2"] = response.json()["revision"]
    review = client.get(revision_path(story["R2"], "review"), headers=bearer(tokens["approver"])).json()
    assert review["base"] == story["R1"]
    assert review["replaces"] == story["A"]  # what is in force, not the returned proposal it was built on
    assert [c["zh"] for c in review["changes"]] == ["绩效一般项目压减：压减比例 10% → 15%"]


def test_maker_checker_compares_persons_not_names(
    app: FastAPI, client: TestClient, tokens: dict[str, str], story: dict[str, Any]
) -> None:
    maker = extra_token(app, "maintainer", name="Zhou.Wei")
    checker_same_person = extra_token(app, "approver", name="zhou.wei")
    body = {
        "base": story["A"],
        "parameters": {"cut-inefficient": {"cut_rate": "0.12"}},
        "reason": "test",
        "propose": True,
    }
    created = client.post(URL, json=body, headers=bearer(maker))
    assert created.status_code == 201, created.text
    revision = created.json()["revision"]
    for action, payload in (("return", {"comment": "x"}), ("approve", {"reason": "x"})):
        response = client.post(revision_path(revision, action), json=payload, headers=bearer(checker_same_person))
        assert response.status_code == 409, response.text
        assert _error(response)["code"] == "same_person"
    response = client.post(revision_path(revision, "return"), json={"comment": "x"}, headers=bearer(tokens["approver"]))
    assert response.status_code == 200, response.text


def test_approved_and_activated_the_next_recommendation_cuts_15_percent(
    client: TestClient, tokens: dict[str, str], story: dict[str, Any], demo_request: dict[str, Any]
) -> None:
    a = bearer(tokens["approver"])
    assert client.post(revision_path(story["R2"], "approve"), json={"reason": "同意"}, headers=a).status_code == 200
    activated = client.post(
        revision_path(story["R2"], "activate"), json={"reason": "启用", "replaces": [story["A"]]}, headers=a
    )
    assert activated.status_code == 200, activated.text
    body = small_request(demo_request, departments=3)
    result = client.post("/v1/recommendations", content=dumps(body), headers=bearer(tokens["compiler"])).json()
    assert result["ruleset"]["revision"] == story["R2"]
    cut = [line for line in result["lines"] if "grade-middling" in [e["rule"] for e in line["explanations"]]]
    assert cut, "the demo has middling performers"
    for line in cut:
        requested = Decimal(line["requested"])
        assert Decimal(line["after_policies"]) == (requested * Decimal("0.85")).quantize(Decimal("0.01"))
    # after activation the diff still compares with the revision it replaced
    review = client.get(revision_path(story["R2"], "review"), headers=a).json()
    assert review["replaces"] == story["A"]
    assert [c["zh"] for c in review["changes"]] == ["绩效一般项目压减：压减比例 10% → 15%"]
    diff = client.get(revision_path(story["R2"], "diff"), headers=a).json()
    assert diff["from"]["revision"] == story["A"] and not diff["identical"]


def test_history_lists_every_revision_with_who_and_why(
    client: TestClient, tokens: dict[str, str], story: dict[str, Any]
) -> None:
    response = client.get("/v1/rulesets/wuding-county/history", headers=bearer(tokens["auditor"]))
    assert response.status_code == 200, response.text
    items = {i["revision"]: i for i in response.json()["items"]}
    r2 = items[story["R2"]]
    assert [s["action"] for s in r2["steps"]] == ["ruleset.proposed", "ruleset.approve", "ruleset.activate"]
    assert r2["steps"][0]["why"] == "按审核意见恢复部门倾斜，仅提高压减比例"
    assert r2["steps"][1]["why"] == "同意"
    assert items[story["R1"]]["returned_comment"].startswith("部门倾斜政策")
    assert "ruleset.return" in [s["action"] for s in items[story["R1"]]["steps"]]
    assert "ruleset.retire" in [s["action"] for s in items[story["A"]]["steps"]]
