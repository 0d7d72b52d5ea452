"""The condition language: normalization and its plain meaning (comparisons on missing facts are false)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from service.domain.conditions import Condition, ConditionError, evaluate, normalize

PARSE = TypeAdapter(Condition).validate_python


def holds(condition: dict, facts: dict, params: dict | None = None) -> bool:
    return evaluate(normalize(PARSE(condition), params or {}), facts)


def test_comparisons_with_a_missing_field_are_false_and_not_makes_them_true():
    below = {"field": "evaluation_score", "op": "lt", "value": 60}
    assert holds(below, {"evaluation_score": Decimal("59.99")})
    assert not holds(below, {})
    assert holds({"not": below}, {})
    assert holds({"not": below}, {"evaluation_score": Decimal(60)})
    assert not holds({"not": below}, {"evaluation_score": Decimal(1)})


def test_parameters_are_bound_and_parameter_tests_are_decided_at_compile_time():
    gate = {"all": [{"missing": "target_review_score"}, {"param": "missing", "op": "eq", "value": "flag"}]}
    assert holds(gate, {}, {"missing": "flag"})
    assert not holds(gate, {}, {"missing": "exclude"})
    assert str(normalize(PARSE(gate), {"missing": "exclude"})) == "Const(value=False)"


def test_field_references_and_in():
    over = {"field": "requested", "op": "gt", "ref": "prior_year_budget"}
    assert holds(over, {"requested": Decimal("120000.00"), "prior_year_budget": Decimal("100000.00")})
    assert not holds(over, {"requested": Decimal("120000.00")})
    kinds = {"field": "kind", "op": "in", "value": ["project", "three_public"]}
    assert holds(kinds, {"kind": "three_public"}) and not holds(kinds, {"kind": "public_operating"})


@pytest.mark.parametrize(
    ("condition", "path", "needle"),
    [
        ({"field": "evaluaton_score", "op": "lt", "value": 60}, ("field",), "unknown field"),
        ({"field": "evaluation_score", "op": "lt", "param": "nope"}, ("param",), "unknown parameter"),
        ({"field": "evaluation_score", "op": "lt", "value": "sixty"}, ("value",), "compares with a number"),
        ({"field": "kind", "op": "lt", "ref": "requested"}, ("ref",), "differ in type"),
    ],
)
def test_bad_conditions_are_located(condition, path, needle):
    with pytest.raises(ConditionError) as caught:
        normalize(PARSE(condition), {})
    assert caught.value.path == path
    assert needle in caught.value.message


def test_unknown_condition_shapes_are_refused_by_the_schema():
    with pytest.raises(ValidationError):
        PARSE({"between": [1, 2]})
