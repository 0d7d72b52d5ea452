"""Protected spending (POLICIES.md policy 0) and the citations a person reads.

Example 08 through both engines: protected lines are tier 0, the gate, cancel and cut policies are
listed as ``waived`` (effect 0.00, naming the protection and what they would have done) with the flag
``protected-review``; prioritize-good and department-tilt leave them alone. The ``protection`` field is
refused on lines that are not projects, naming the record and the field. Citations name documents by
their full titles, per rule where the rule cites something of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.domain.decision import recommend
from service.domain.errors import InvalidInput, InvalidPolicy
from service.domain.records import parse_request
from service.engine import ENGINES, make_matcher
from service.policyfiles import Catalog

EXAMPLE = Path(__file__).resolve().parents[2] / "shared" / "spec" / "examples" / "08-protected.json"
TITLES = {
    "GF2021-5": "国务院关于进一步深化预算管理制度改革的意见（国发〔2021〕5号）",
    "SD2021": "山东省省级预算绩效结果应用管理暂行办法（2021）",
    "CY2020-10": "财政部 项目支出绩效评价管理办法（财预〔2020〕10号）",
    "CY2015-88": "财政部 中央部门预算绩效目标管理办法（财预〔2015〕88号）",
    "WD2020": "武定县2020年预算绩效管理工作自评报告",
    "ZF2018-34": "中共中央 国务院关于全面实施预算绩效管理的意见（中发〔2018〕34号）",
}


@pytest.fixture(scope="module")
def compiled() -> Any:
    return Catalog.load().compile("wuding-county")


@pytest.fixture(scope="module")
def matchers(compiled: Any) -> Iterator[dict[str, Any]]:
    made = {engine: make_matcher(compiled, engine) for engine in ENGINES}
    yield made
    for matcher in made.values():
        matcher.close()


def _example_request() -> dict[str, Any]:
    if not EXAMPLE.exists():
        pytest.skip(f"{EXAMPLE} is not present")
    request: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))["request"]
    return request


def _lines(raw: dict[str, Any], compiled: Any, matcher: Any) -> dict[str, dict[str, Any]]:
    result = recommend(parse_request(raw), compiled, matcher, decision_id="t")
    return {ln["project_id"]: ln for ln in result["lines"]}


def _by_policy(line: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["policy"]: e for e in line["explanations"]}


@pytest.mark.parametrize("engine", ENGINES)
def test_protected_lines_are_funded_first_and_waived(engine: str, compiled: Any, matchers: Any) -> None:
    lines = _lines(_example_request(), compiled, matchers[engine])
    k1, k2, k3, k4 = (_by_policy(lines[k]) for k in ("K1", "K2", "K3", "K4"))
    assert k1["protect-essential"]["action"] == "protect" and k1["protect-essential"]["effect"] == "0.00"
    assert "保基本民生" in k1["protect-essential"]["reason"]["zh"]
    cancel = k1["cancel-ineffective"]
    assert (cancel["outcome"], cancel["effect"], cancel["waived_by"]) == ("waived", "0.00", "protect-essential")
    assert "保基本民生" in cancel["reason"]["zh"] and "本应取消" in cancel["reason"]["zh"]
    assert "basic livelihood" in cancel["reason"]["en"]
    assert k2["target-review-gate"]["outcome"] == "waived" and k2["cut-inefficient"]["outcome"] == "waived"
    assert "40,000.00" in k2["cut-inefficient"]["reason"]["zh"]  # what the cut would have taken
    assert k2["urge-improvement"]["outcome"] == "applied"
    assert k3["target-review-gate"]["outcome"] == "waived"
    assert set(k4) == {"protect-essential"}  # no priority, no tilt, nothing waived
    assert lines["K4"]["tier"] == 0 and lines["K4"]["flags"] == []
    # not protected: K5 keeps its priority tier, K6 is cut as usual
    assert lines["K5"]["tier"] == 1 and lines["K6"]["after_policies"] == "450000.00"


@pytest.mark.parametrize("engine", ENGINES)
def test_categories_parameter_limits_protection(engine: str, matchers: Any) -> None:
    compiled = Catalog.load().compile("wuding-county", overrides={"protect-essential": {"categories": ["statutory"]}})
    matcher = make_matcher(compiled, engine)  # type: ignore[arg-type]
    try:
        lines = _lines(_example_request(), compiled, matcher)
    finally:
        matcher.close()
    assert lines["K1"]["status"] == "cancelled"  # basic_livelihood is no longer protected
    assert lines["K2"]["tier"] == 0 and lines["K2"]["status"] == "funded"
    assert lines["K3"]["status"] == "excluded"


def test_a_category_outside_the_choices_is_refused() -> None:
    with pytest.raises(InvalidPolicy) as caught:
        Catalog.load().compile("wuding-county", overrides={"protect-essential": {"categories": ["roads"]}})
    assert "categories" in str(caught.value.problems[0])


@pytest.mark.parametrize("kind", ["public_operating", "three_public"])
def test_protection_on_a_line_that_is_not_a_project_is_invalid(kind: str) -> None:
    raw = {
        "fiscal_year": 2021,
        "departments": [{"department_id": "D1", "name": "县民政局"}],
        "projects": [
            {"project_id": "X9", "department_id": "D1", "name": "公用经费", "kind": kind, "requested": "10.00"},
        ],
    }
    raw["projects"][0]["protection"] = "wages"
    with pytest.raises(InvalidInput) as caught:
        parse_request(raw)
    [problem] = caught.value.problems
    assert problem.loc == ("projects", 0, "protection") and problem.record == "project_id X9"
    raw["projects"][0]["protection"] = "none"
    assert parse_request(raw).projects[0].protection.value == "none"


def test_protection_accepts_the_glossary_words_and_refuses_others() -> None:
    raw = {
        "fiscal_year": 2021,
        "departments": [{"department_id": "D1", "name": "县民政局"}],
        "projects": [
            {"project_id": "A", "department_id": "D1", "name": "a", "requested": "1", "protection": "保工资"},
            {"project_id": "B", "department_id": "D1", "name": "b", "requested": "1", "protection": ""},
        ],
    }
    request = parse_request(raw)
    assert [p.protection.value for p in request.projects] == ["wages", "none"]
    raw["projects"][1]["protection"] = "roads"
    with pytest.raises(InvalidInput) as caught:
        parse_request(raw)
    assert caught.value.problems[0].loc == ("projects", 1, "protection")


def test_citations_follow_the_policies_document(compiled: Any, matchers: Any) -> None:
    raw = _example_request()
    raw["projects"].append(
        {"project_id": "K7", "department_id": "D02", "name": "无评审", "requested": "1000.00", "evaluation_score": 95}
    )
    lines = _lines(raw, compiled, matchers["plain"])
    cut = _by_policy(lines["K6"])["cut-inefficient"]["citation"]
    assert TITLES["SD2021"] in cut and TITLES["CY2020-10"] in cut and "低效无效" not in cut
    missing = _by_policy(lines["K7"])["target-review-gate"]["citation"]
    assert TITLES["CY2015-88"] in missing and "第二十五条" in missing and "65分" not in missing
    envelope = _by_policy(lines["K5"])["envelope-allocation"]["citation"]
    assert "优先保障" in envelope and TITLES["WD2020"] in envelope
    assert TITLES["GF2021-5"] in _by_policy(lines["K1"])["protect-essential"]["citation"]
    keys = (*TITLES, "YSF-42", "GWR2014", ".md", "POLICIES")
    for line in lines.values():
        for entry in line["explanations"]:
            assert not any(key in entry["citation"] for key in keys), entry["citation"]


def test_the_gate_below_65_cites_the_self_evaluation_report(compiled: Any, matchers: Any) -> None:
    raw = _example_request()
    raw["projects"][5]["target_review_score"] = 50
    line = _lines(raw, compiled, matchers["plain"])["K6"]
    citation = _by_policy(line)["target-review-gate"]["citation"]
    assert citation.startswith(TITLES["WD2020"] + " 一(三)6") and TITLES["CY2015-88"] not in citation
