"""The second shipped ruleset, disclosure-compliance: department records, not money."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.domain.disclosure import parse_disclosure_request, review_disclosure
from service.domain.errors import InvalidInput
from service.engine import make_matcher
from service.policyfiles import Catalog

ROOT = Path(__file__).resolve().parent.parent
RULESET = Catalog.load().compile("disclosure-compliance")


def review(records: list[dict], engine: str = "durable-rules") -> dict:
    request = parse_disclosure_request({"fiscal_year": 2021, "departments": records})
    return review_disclosure(request, RULESET, make_matcher(RULESET, engine))  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["durable-rules", "plain"])
def test_days_late_are_counted_from_approval_and_from_forming(engine):
    result = review(
        [
            {
                "department_id": "D1",
                "name": "县教育体育局",
                "budget_approved_on": "2021-02-01",
                "targets_disclosed_on": "2021-02-21",
                "report_formed_on": "2021-03-01",
                "report_disclosed_on": "2021-03-21",
            },
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
        engine,
    )
    by_id = {d["department_id"]: d for d in result["departments"]}
    assert by_id["D1"]["status"] == "compliant" and by_id["D1"]["flags"] == []
    assert by_id["D2"]["flags"] == [
        {"code": "targets-disclosed-late", "days_late": 12},
        {"code": "report-disclosed-late", "days_late": 12},
    ]
    assert "超过20日的期限12日" in by_id["D2"]["explanations"][0]["reason"]["zh"]
    assert "武定县2020年预算绩效管理工作自评报告 三(三)" in by_id["D2"]["explanations"][0]["citation"]
    assert by_id["T1"]["flags"] == [{"code": "targets-not-disclosed"}]
    assert result["summary"]["counts"] == {"compliant": 1, "flagged": 2}
    assert result["ruleset"]["digest"] == RULESET.digest


def test_bad_records_are_reported_at_once_naming_department_and_field():
    with pytest.raises(InvalidInput) as caught:
        parse_disclosure_request(
            {
                "fiscal_year": 2021,
                "departments": [
                    {"department_id": "D1", "name": "x", "budget_approved_on": "2021-02-30"},
                    {
                        "department_id": "D2",
                        "name": "y",
                        "budget_approved_on": "2021-02-01",
                        "targets_disclosed_on": "2021-01-01",
                        "report_disclosed_on": "2021-05-01",
                    },
                ],
            }
        )
    text = [str(p) for p in caught.value.problems]
    assert any("D1" in t and "budget_approved_on" in t for t in text)
    assert any("D2" in t and "targets_disclosed_on" in t for t in text)
    assert any("D2" in t and "report_formed_on" in t for t in text)


def test_the_command_line_reviews_the_demo_records():
    cli = Path(sys.executable).parent / "budget-rules"
    done = subprocess.run(
        [str(cli), "review-disclosure", str(ROOT / "demo" / "disclosure-2021.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["departments"]) == 96
    assert result["summary"]["counts"]["flagged"] > 0
    for d in result["departments"]:
        for flag in d["flags"]:
            if flag["code"].endswith("-late"):
                assert flag["days_late"] > 0


def test_a_budget_policy_cannot_join_a_disclosure_ruleset(tmp_path):
    import shutil

    from service.domain.errors import InvalidPolicy

    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    shutil.copytree(ROOT / "rulesets", tmp_path / "rulesets")
    path = tmp_path / "rulesets" / "disclosure-compliance.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "  - {policy: reclaim-idle, precedence: 3}\n", encoding="utf-8")
    with pytest.raises(InvalidPolicy) as caught:
        Catalog.load(tmp_path).compile("disclosure-compliance")
    assert "reclaim-idle judges project_lines records" in str(caught.value)
