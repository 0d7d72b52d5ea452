"""Cross-line overlap review on groups far larger than a county's: linear, and flags stay small."""

from __future__ import annotations

from service.domain.decision import recommend
from service.domain.evaluation import MAX_LISTED
from service.domain.records import parse_request
from service.engine.plain import PlainMatcher
from service.policyfiles import Catalog

RULESET = Catalog.load().compile("wuding-county")


def _request(n_departments: int, per_department: int) -> dict:
    departments = [{"department_id": f"D{d:04d}", "name": f"部门{d}"} for d in range(n_departments)]
    projects = [
        {
            "project_id": f"P{d:04d}-{k}",
            "department_id": f"D{d:04d}",
            "name": "饮水",
            "requested": "50000.00",
            "target_review_score": 80,
            "purpose_code": "2130314",
            "beneficiary": "农村居民",
        }
        for d in range(n_departments)
        for k in range(per_department)
    ]
    return {"fiscal_year": 2021, "departments": departments, "projects": projects}


def test_a_large_duplicate_group_lists_at_most_max_listed_ids_and_counts_them_all():
    request = parse_request(_request(400, 3))  # 1,200 lines with one purpose and beneficiary
    result = recommend(request, RULESET, PlainMatcher(RULESET))
    first = result["lines"][0]
    flags = {f["code"]: f for f in first["flags"]}
    duplicate = flags["possible-duplicate"]
    assert duplicate["others_count"] == 1200 - 3  # every line of the other 399 departments
    assert len(duplicate["others"]) == MAX_LISTED
    assert duplicate["others"] == sorted(duplicate["others"])
    assert not any(pid.startswith("P0000-") for pid in duplicate["others"])  # never its own department
    assert flags["fragmented"]["others_count"] == 2  # its department's three small lines
    assert "…(+1187)" in next(e for e in first["explanations"] if e["rule"] == "possible-duplicate")["reason"]["en"]


def test_lines_of_one_department_only_are_not_duplicates():
    request = parse_request(_request(1, 2))
    result = recommend(request, RULESET, PlainMatcher(RULESET))
    assert all(f["code"] != "possible-duplicate" for line in result["lines"] for f in line["flags"])
