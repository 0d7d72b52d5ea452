"""What-if parameter overrides: checked like ruleset values, and never silently ignored."""

from __future__ import annotations

import pytest

from service.domain.errors import InvalidPolicy
from service.policyfiles import Catalog

CATALOG = Catalog.load()


def test_an_override_changes_the_compiled_rule_and_the_digest():
    base = CATALOG.compile("wuding-county")
    stricter = CATALOG.compile("wuding-county", overrides={"target-review-gate": {"min_score": 70}})
    assert stricter.digest != base.digest
    gate = next(p for p in stricter.policies if p.id == "target-review-gate")
    assert str(gate.params["min_score"]) == "70"


def test_an_override_for_a_policy_the_ruleset_does_not_bind_is_an_error():
    with pytest.raises(InvalidPolicy) as caught:
        CATALOG.compile("wuding-county", overrides={"no-such-policy": {"x": 1}})
    assert "binds no policy 'no-such-policy'" in str(caught.value)


def test_an_override_out_of_the_declared_range_is_an_error():
    with pytest.raises(InvalidPolicy) as caught:
        CATALOG.compile("wuding-county", overrides={"cut-inefficient": {"cut_rate": 1.5}})
    assert "cut_rate" in str(caught.value) and "above the allowed maximum 1" in str(caught.value)
