"""A project line's usual forms (checked natively by pydantic-core) accept nothing the exact rule refuses.

``Project`` tries each field's usual form first and the exact rule (``_ExactProject``) when it fails; the
speed-up is only sound if, for every value, both give the same verdict and the same value, and the
problems a refused line gets are the exact rule's own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from service.domain.errors import InvalidInput
from service.domain.records import Project, _ExactProject, parse_request

BASE: dict[str, Any] = {"project_id": "P1", "department_id": "D1", "name": "道路养护", "requested": "100.00"}

# Values near every edge of the usual forms: whitespace, signs, separators, exponents, other digits,
# blank text, booleans for numbers, numbers for booleans, Chinese protection words, floats.
TRICKY: list[Any] = [
    "5.00",
    " 5.00",
    "5.00 ",
    "\t5.00\n",
    "5.00\n",
    "05.00",
    "5.0",
    "5",
    "5.",
    ".50",
    "-5.00",
    "+5.00",
    "5,000.00",
    "1_000.00",
    "5e2",
    "５.００",
    "٥.٠٠",
    "NaN",
    "Infinity",
    "",
    "   ",
    "9999999999999.99",
    "10000000000000.00",
    5,
    0,
    -1,
    100,
    101,
    5.5,
    85.1234567,
    1e-5,
    True,
    False,
    None,
    "true",
    "是",
    "否",
    "wages",
    " wages",
    "保工资",
    "none",
    "无",
    "\x1f",  # blank to Python's str.strip(), not to pydantic-core's (found by the random test below)
    " \x1c\x1d \x1e\x1f ",
    "\x1fA\x1f",
    "\u3000",
    "\x85",
    "x" * 65,
    "x" * 501,
    "中文",
    [],
    {},
]
FIELDS = (
    "requested",
    "prior_year_budget",
    "target_review_score",
    "evaluation_score",
    "idle_balance",
    "purpose_code",
    "beneficiary",
    "urgent",
    "protection",
)


def _verdict(model: type[Project] | type[_ExactProject], item: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", model.model_validate(item).model_dump()
    except ValidationError as error:
        return "refused", [(e["loc"], e["type"]) for e in error.errors()]


def _same(item: dict[str, Any]) -> None:
    fast, exact = _verdict(Project, item), _verdict(_ExactProject, item)
    assert fast[0] == exact[0], (item, fast, exact)
    if fast[0] == "ok":
        assert fast[1] == exact[1], item
        for name in FIELDS:  # equal decimals may still differ in their exponent ("5.0" vs "5.00"): compare text
            assert str(fast[1][name]) == str(exact[1][name]), (name, item)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", TRICKY, ids=repr)
def test_each_tricky_value_gets_the_same_verdict_and_value(field: str, value: Any) -> None:
    _same({**BASE, field: value})


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(FIELDS),
    value=st.one_of(
        st.text(max_size=20),
        st.from_regex(r"\s?-?[0-9]{0,15}(\.[0-9]{0,8})?\s?", fullmatch=True),
        st.integers(min_value=-10, max_value=10**15),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
    ),
)
def test_random_values_get_the_same_verdict_and_value(field: str, value: Any) -> None:
    _same({**BASE, field: value})


def test_a_refused_line_is_described_by_the_exact_rule_once_per_problem() -> None:
    raw = {
        "fiscal_year": 2021,
        "departments": [{"department_id": "D1", "name": "县交通运输局"}],
        "projects": [{**BASE, "requested": "1,000.00", "evaluation_score": "八十"}],
    }
    with pytest.raises(InvalidInput) as caught:
        parse_request(raw)
    problems = {(p.loc, p.message) for p in caught.value.problems}
    assert [loc for loc, _ in problems if loc[-1] == "requested"] == [("projects", 0, "requested")]
    assert any("plain decimal text" in message for loc, message in problems if loc[-1] == "requested")
    assert any("plain decimal text" in message for loc, message in problems if loc[-1] == "evaluation_score")
    assert len(problems) == 2


def test_usual_and_unusual_forms_give_equal_lines() -> None:
    usual = Project.model_validate({**BASE, "evaluation_score": 85, "urgent": True, "protection": "wages"})
    written = Project.model_validate({**BASE, "evaluation_score": "85", "urgent": "是", "protection": "保工资"})
    assert usual == written
    assert usual.requested == Decimal("100.00") and str(usual.requested) == "100.00"
