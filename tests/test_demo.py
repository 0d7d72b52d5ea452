"""Tests of the synthetic Wuding County demo-data generator (service/demo.py)."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from service import demo

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "demo" / "wuding-county-2021.json"
MONEY = re.compile(r"^\d+\.\d{2}$")
MONEY_FIELDS = ("requested", "prior_year_budget", "idle_balance")
SCORE_FIELDS = ("target_review_score", "evaluation_score")
REPORT_TOTAL = Decimal("147242100.00")

Request = dict[str, Any]


@pytest.fixture(scope="module")
def request_99() -> Request:
    """The default request (99 projects, seed 2021, fiscal year 2021)."""
    return demo.generate_request()


def _projects(request: Request, kind: str = "project") -> list[dict[str, Any]]:
    return [line for line in request["projects"] if line.get("kind", "project") == kind]


def _sum(lines: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(line["requested"]) for line in lines), Decimal("0.00"))


def _envelope_formula(request: Request, reference_total: Decimal) -> Decimal:
    basic = _sum(_projects(request, "public_operating")) + _sum(_projects(request, "three_public"))
    scaled = _sum(_projects(request)) * REPORT_TOTAL / reference_total
    return basic + scaled.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- determinism ---------------------------------------------------------------------------------


def test_same_arguments_give_identical_json() -> None:
    assert demo.dumps_request(demo.generate_request()) == demo.dumps_request(demo.generate_request())
    assert demo.generate_request(500, seed=7, fiscal_year=2022) == demo.generate_request(500, 7, 2022)


def test_different_seeds_differ() -> None:
    assert demo.generate_request(seed=1) != demo.generate_request(seed=2)


def test_committed_file_equals_fresh_generation(request_99: Request) -> None:
    assert COMMITTED.read_text(encoding="utf-8") == demo.dumps_request(request_99)


def test_main_writes_the_same_json(tmp_path: Path, request_99: Request) -> None:
    out = tmp_path / "req.json"
    assert demo.main(["--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == demo.dumps_request(request_99)
    assert demo.main(["--projects", "5", "--seed", "3", "--fiscal-year", "2023", "--output", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == demo.generate_request(5, 3, 2023)


# --- shape and counts ----------------------------------------------------------------------------


def test_request_shape(request_99: Request) -> None:
    assert list(request_99) == ["fiscal_year", "envelope", "ruleset", "departments", "projects"]
    assert request_99["fiscal_year"] == 2021
    assert request_99["ruleset"] == "wuding-county"


def test_unit_counts(request_99: Request) -> None:
    kinds = Counter(d["kind"] for d in request_99["departments"])
    assert kinds == {"department": 85, "township": 11}
    ids = [d["department_id"] for d in request_99["departments"]]
    assert ids == [f"D{i:03d}" for i in range(1, 86)] + [f"T{i:02d}" for i in range(1, 12)]
    names = {d["name"] for d in request_99["departments"]}
    assert {"县农业农村局", "县卫生健康局", "县民政局", "县教育体育局", "县财政局"} <= names
    assert {"狮山镇", "高桥镇", "猫街镇", "插甸镇", "白路镇", "万德镇", "己衣镇"} <= names
    assert {"田心乡", "发窝乡", "环州乡", "东坡傣族乡"} <= names


def test_line_counts(request_99: Request) -> None:
    public = _projects(request_99, "public_operating")
    three = _projects(request_99, "three_public")
    assert len(public) == 96
    assert len(_projects(request_99)) == 99
    assert 0.75 * 96 <= len(three) <= 0.95 * 96
    unit_ids = {d["department_id"] for d in request_99["departments"]}
    assert {line["department_id"] for line in public} == unit_ids
    assert all(line["name"].endswith("公用经费") for line in public)
    assert all(line["name"].endswith("“三公”经费") for line in three)
    assert [p["project_id"] for p in _projects(request_99)] == [f"P{i:04d}" for i in range(1, 100)]


def test_ids_unique_and_departments_exist(request_99: Request) -> None:
    department_ids = [d["department_id"] for d in request_99["departments"]]
    project_ids = [p["project_id"] for p in request_99["projects"]]
    assert len(set(department_ids)) == len(department_ids)
    assert len(set(project_ids)) == len(project_ids)
    assert {p["department_id"] for p in request_99["projects"]} <= set(department_ids)


# --- field values ---------------------------------------------------------------------------------


def test_money_strings_have_two_decimals(request_99: Request) -> None:
    assert MONEY.match(request_99["envelope"])
    for line in request_99["projects"]:
        for field in MONEY_FIELDS:
            if field in line:
                assert isinstance(line[field], str) and MONEY.match(line[field]), (line["project_id"], field)


def test_scores_are_numbers_with_at_most_two_decimals(request_99: Request) -> None:
    scores = [d["overall_score"] for d in request_99["departments"] if "overall_score" in d]
    scores += [p[f] for p in request_99["projects"] for f in SCORE_FIELDS if f in p]
    for score in scores:
        assert type(score) in (int, float)
        assert 0 <= score <= 100
        text = str(score)
        assert "e" not in text and len(text.partition(".")[2]) <= 2, text
        if isinstance(score, float):
            assert score != int(score)


def test_no_nulls(request_99: Request) -> None:
    records = request_99["departments"] + request_99["projects"]
    assert all(value is not None for record in records for value in record.values())


def test_project_amounts_are_realistic(request_99: Request) -> None:
    amounts = [Decimal(p["requested"]) for p in _projects(request_99)]
    assert all(Decimal("50000.00") <= a <= Decimal("8000000.00") for a in amounts)
    round_ones = sum(1 for a in amounts if a % 100 == 0)
    assert round_ones >= 0.8 * len(amounts)
    assert any(a % 1 != 0 for a in amounts), "some requests carry fen"


def test_project_requests_exceed_report_total(request_99: Request) -> None:
    total = _sum(_projects(request_99))
    assert REPORT_TOTAL * Decimal("1.10") <= total <= REPORT_TOTAL * Decimal("1.20")


def test_envelope_formula(request_99: Request) -> None:
    basic = _sum(_projects(request_99, "public_operating")) + _sum(_projects(request_99, "three_public"))
    assert Decimal(request_99["envelope"]) == basic + REPORT_TOTAL
    assert Decimal(request_99["envelope"]) == _envelope_formula(request_99, _sum(_projects(request_99)))


def test_envelope_formula_scaled() -> None:
    request = demo.generate_request(250, seed=11)
    reference = _sum(_projects(demo.generate_request(seed=11)))
    assert Decimal(request["envelope"]) == _envelope_formula(request, reference)


def test_three_public_prior_year(request_99: Request) -> None:
    three = _projects(request_99, "three_public")
    assert all("prior_year_budget" in line for line in three)
    above = [line for line in three if Decimal(line["requested"]) > Decimal(line["prior_year_budget"])]
    assert 0 < len(above) < len(three) / 2


def test_idle_balance_has_year(request_99: Request) -> None:
    idle = [line for line in request_99["projects"] if "idle_balance" in line]
    assert idle
    for line in request_99["projects"]:
        if Decimal(line.get("idle_balance", "0")) > 0:
            assert isinstance(line.get("idle_since_year"), int), line["project_id"]
    ages = {2021 - line["idle_since_year"] for line in idle}
    assert ages <= {0, 1, 2, 3, 4} and {1, 2} <= ages


def test_score_spreads(request_99: Request) -> None:
    overall = [d.get("overall_score") for d in request_99["departments"]]
    assert None in overall and any(s is not None and s >= 90 for s in overall)
    assert any(isinstance(s, float) for s in overall)
    projects = _projects(request_99)
    review = [p.get("target_review_score") for p in projects]
    assert None in review and {60, 65, 80, 90} <= set(review)
    assert 4 <= sum(1 for s in review if s is not None and s < 65) <= 15
    evaluation = [p["evaluation_score"] for p in projects if "evaluation_score" in p]
    assert 0.35 * 99 <= len(evaluation) <= 0.65 * 99
    grades = Counter("优" if s >= 90 else "良" if s >= 80 else "中" if s >= 60 else "差" for s in evaluation)
    assert set(grades) == {"优", "良", "中", "差"}
    assert {60, 80, 90} <= set(evaluation)


def test_urgent_lines(request_99: Request) -> None:
    urgent = [p for p in request_99["projects"] if p.get("urgent")]
    assert 1 <= len(urgent) <= 10
    assert all(p["urgent"] is True for p in urgent)


def test_cross_department_overlap_exists(request_99: Request) -> None:
    by_key: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in _projects(request_99):
        if p.get("purpose_code") and p.get("beneficiary"):
            assert re.fullmatch(r"\d{7}", p["purpose_code"])
            by_key[(p["purpose_code"], p["beneficiary"])].add(p["department_id"])
    assert any(len(departments) >= 2 for departments in by_key.values())


def test_fragmentation_exists(request_99: Request) -> None:
    small: Counter[tuple[str, str]] = Counter(
        (p["department_id"], p["purpose_code"])
        for p in _projects(request_99)
        if p.get("purpose_code") and Decimal(p["requested"]) < Decimal("100000.00")
    )
    assert max(small.values()) >= 3


# --- larger datasets ------------------------------------------------------------------------------


def test_large_request() -> None:
    """100,000 lines, every id unique and every line's department present (its speed: bench/, not a timed test)."""
    request = demo.generate_request(100_000)
    projects = _projects(request)
    assert len(projects) == 100_000
    ids = [p["project_id"] for p in request["projects"]]
    assert len(set(ids)) == len(ids)
    department_ids = {d["department_id"] for d in request["departments"]}
    assert len(department_ids) == len(request["departments"]) == 96 * demo.county_count(100_000)
    assert {p["department_id"] for p in request["projects"]} <= department_ids


def test_iter_projects_is_lazy() -> None:
    iterator = demo.iter_projects(10**7)
    first = next(iterator)
    assert first["project_id"] == "P00000001"
    assert first["department_id"].startswith("D")


def test_small_requests_keep_96_units() -> None:
    for n in (0, 1, 1000):
        request = demo.generate_request(n)
        assert len(request["departments"]) == 96
        assert len(_projects(request)) == n


def test_protected_lines_are_realistic_and_kept(request_99: Request) -> None:
    """低保配套, 优待金, 医保补助, 村级组织运转 … are protected, and the recommendation no longer drops them."""
    from service.domain.decision import recommend
    from service.domain.records import parse_request
    from service.engine import make_matcher
    from service.policyfiles import Catalog

    protected = {p["name"]: p["protection"] for p in request_99["projects"] if p.get("protection")}
    assert protected["城乡最低生活保障县级配套"] == "basic_livelihood"
    assert protected["义务兵家庭优待金"] == "statutory"
    assert protected["城乡居民基本医疗保险县级补助"] == "matching"
    assert protected["村级组织运转经费"] == "operations"
    assert set(protected.values()) == {"basic_livelihood", "wages", "operations", "statutory", "matching"}
    compiled = Catalog.load().compile("wuding-county")
    matcher = make_matcher(compiled, "plain")
    result = recommend(parse_request(request_99), compiled, matcher, decision_id="demo")
    lines = [ln for ln in result["lines"] if ln["name"] in protected]
    assert len(lines) == len(protected)
    assert all(ln["status"] == "funded" and ln["tier"] == 0 for ln in lines)
    waived = {e["policy"] for ln in lines for e in ln["explanations"] if e["outcome"] == "waived"}
    assert waived == {"target-review-gate", "cancel-ineffective", "cut-inefficient"}
