"""The worked examples of ../shared/spec/examples, run through both engines and compared field by field.

Each example file is ``{"request": …, "expected": {"lines": {pid: {…}}, "totals": {…}}}``; the expected
values are the spec's own. Both matchers (durable-rules and the plain oracle) must reproduce every
expected line field and every expected total, keep the request's line order, and explain every line
that is not simply funded.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from service.domain.decision import recommend
from service.domain.records import parse_request
from service.engine import ENGINES, make_matcher
from service.policyfiles import Catalog

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "spec" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json")) if EXAMPLES.is_dir() else []
LINE_FIELDS = ("status", "tier", "after_policies", "recommended", "allocated_from_pool", "reclaimed")

pytestmark = pytest.mark.skipif(not EXAMPLE_FILES, reason=f"the spec's worked examples are not available at {EXAMPLES}")


def _load(path: Path) -> dict[str, Any]:
    # Numbers are read exactly (as the CLI reads them): 64.99 stays 64.99, never a float.
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    return data


@pytest.fixture(scope="module")
def compiled() -> Any:
    return Catalog.load().compile("wuding-county")


@pytest.fixture(scope="module")
def matchers(compiled: Any) -> Any:
    made = {engine: make_matcher(compiled, engine) for engine in ENGINES}
    yield made
    for matcher in made.values():
        matcher.close()


def _run(path: Path, engine: str, compiled: Any, matchers: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    case = _load(path)
    request = parse_request(case["request"])
    return case, recommend(request, compiled, matchers[engine], decision_id="example")


def test_examples_are_present() -> None:
    # Sanity: the folder holds the worked examples the checks script runs (at least the seven known ones).
    assert len(EXAMPLE_FILES) >= 7
    for path in EXAMPLE_FILES:
        case = _load(path)
        assert set(case) >= {"request", "expected"}, path.name
        assert case["expected"]["lines"], path.name


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_example_lines(path: Path, engine: str, compiled: Any, matchers: Any) -> None:
    case, result = _run(path, engine, compiled, matchers)
    expected = case["expected"]
    lines = {line["project_id"]: line for line in result["lines"]}
    differences = []
    for pid, exp in expected["lines"].items():
        line = lines.get(pid)
        if line is None:
            differences.append(f"{pid}: missing from the result")
            continue
        for field in LINE_FIELDS:
            if line[field] != exp[field]:
                differences.append(f"{pid}.{field} is {line[field]!r}, expected {exp[field]!r}")
        codes = sorted(flag["code"] for flag in line["flags"])
        if codes != sorted(exp["flags"]):
            differences.append(f"{pid}.flags are {codes}, expected {sorted(exp['flags'])}")
    assert not differences, f"{path.stem} ({engine}):\n" + "\n".join(differences)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_example_totals(path: Path, engine: str, compiled: Any, matchers: Any) -> None:
    case, result = _run(path, engine, compiled, matchers)
    totals = result["summary"]["totals"]
    differences = [
        f"totals.{field} is {totals.get(field)!r}, expected {value!r}"
        for field, value in case["expected"]["totals"].items()
        if totals.get(field) != value
    ]
    assert not differences, f"{path.stem} ({engine}):\n" + "\n".join(differences)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_example_order_and_explanations(path: Path, engine: str, compiled: Any, matchers: Any) -> None:
    case, result = _run(path, engine, compiled, matchers)
    # Lines keep the order of `projects` in the request, one line per project.
    assert [line["project_id"] for line in result["lines"]] == [p["project_id"] for p in case["request"]["projects"]]
    for line in result["lines"]:
        needs_reason = line["status"] != "funded" or bool(line["flags"])
        if needs_reason:
            assert line["explanations"], f"{line['project_id']} ({line['status']}, {line['flags']}) is not explained"
        for entry in line["explanations"]:
            where = f"{path.stem}/{line['project_id']}/{entry.get('policy')}"
            assert isinstance(entry.get("policy"), str) and entry["policy"], where
            assert entry.get("outcome") in ("applied", "superseded", "waived"), where
            reason = entry.get("reason")
            assert isinstance(reason, dict), where
            assert isinstance(reason.get("zh"), str) and reason["zh"].strip(), where
            assert isinstance(reason.get("en"), str) and reason["en"].strip(), where
            # A placeholder left unfilled would show as "{name}" in the reason.
            assert "{" not in reason["zh"] and "{" not in reason["en"], (where, reason)
            assert isinstance(entry.get("citation"), str) and entry["citation"].strip(), where


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_engines_give_the_same_document(path: Path, compiled: Any, matchers: Any) -> None:
    documents = [_run(path, engine, compiled, matchers)[1] for engine in ENGINES]
    texts = [json.dumps(doc, sort_keys=True, ensure_ascii=False) for doc in documents]
    assert texts[0] == texts[1]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_terminated_lines_cite_the_policy(path: Path, compiled: Any, matchers: Any) -> None:
    """An excluded or cancelled line's explanation names the gate or cancellation policy that applied."""
    _, result = _run(path, "durable-rules", compiled, matchers)
    policy_of = {"excluded": "target-review-gate", "cancelled": "cancel-ineffective"}
    for line in result["lines"]:
        if line["status"] in policy_of:
            applied = [e["policy"] for e in line["explanations"] if e["outcome"] == "applied"]
            assert policy_of[line["status"]] in applied, (line["project_id"], applied)


# --------------------------------------------------------------------------- superseded explanations

ZERO_AMOUNT = re.compile(r"(?<![\d,.])0\.00(?!\d)")


def _superseded_case(compiled: Any, matchers: Any, engine: str) -> dict[str, Any]:
    """A line excluded by the gate whose evaluation (70, middling) would have cut it and urged improvement,
    and one excluded line whose evaluation (50) would have cancelled it."""
    raw = {
        "fiscal_year": 2021,
        "departments": [{"department_id": "D01", "name": "县农业农村局", "overall_score": 85}],
        "projects": [
            {
                "project_id": "S1",
                "department_id": "D01",
                "name": "a",
                "requested": "100000.00",
                "target_review_score": 50,
                "evaluation_score": 70,
            },
            {
                "project_id": "S2",
                "department_id": "D01",
                "name": "b",
                "requested": "100000.00",
                "target_review_score": 50,
                "evaluation_score": 50,
            },
        ],
    }
    return {ln["project_id"]: ln for ln in recommend(parse_request(raw), compiled, matchers[engine])["lines"]}


@pytest.mark.parametrize("engine", ENGINES)
def test_superseded_policies_are_listed_and_name_the_gate(engine: str, compiled: Any, matchers: Any) -> None:
    lines = _superseded_case(compiled, matchers, engine)
    expected = {"S1": {"cut-inefficient", "urge-improvement"}, "S2": {"cancel-ineffective"}}
    for pid, policies in expected.items():
        line = lines[pid]
        assert line["status"] == "excluded" and line["flags"] == []
        superseded = {e["policy"]: e for e in line["explanations"] if e["outcome"] == "superseded"}
        assert policies <= set(superseded), (pid, list(superseded))
        for policy in policies:
            entry = superseded[policy]
            assert entry["superseded_by"] == "target-review-gate"
            assert entry["effect"] == "0.00"
            assert entry["reason"]["zh"] and entry["reason"]["en"] and entry["citation"]


def test_superseded_reasons_do_not_state_zero_amounts(compiled: Any, matchers: Any) -> None:
    lines = _superseded_case(compiled, matchers, "durable-rules")
    for pid in ("S1", "S2"):
        for entry in lines[pid]["explanations"]:
            if entry["outcome"] == "superseded":
                for lang in ("zh", "en"):
                    assert not ZERO_AMOUNT.search(entry["reason"][lang]), (pid, entry["policy"], entry["reason"][lang])
