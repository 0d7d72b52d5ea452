"""Every example carried by a policy file runs as a test, through both engines."""

from __future__ import annotations

import pytest

from service.policyfiles import Catalog
from service.policytests import CoverageReport, run_example

CATALOG = Catalog.load()
CASES = [
    pytest.param(policy, example, id=f"{policy.id}: {example.name}")
    for policy in CATALOG.policies.values()
    for example in policy.examples
]


@pytest.mark.parametrize("engine", ["durable-rules", "plain"])
@pytest.mark.parametrize(("policy", "example"), CASES)
def test_policy_example(policy, example, engine):  # type: ignore[no-untyped-def]
    report = CoverageReport()
    run_example(CATALOG, policy, example, engine, report)
    assert report.failures == []
    assert report.passed == 1


def test_every_policy_has_examples_and_every_rule_fires_in_one():
    report = CoverageReport()
    for policy in CATALOG.policies.values():
        assert policy.examples, f"{policy.id} has no examples"
        for example in policy.examples:
            run_example(CATALOG, policy, example, "plain", report)
    never_fired = [key for key, counts in report.rules.items() if not counts["fired"]]
    assert never_fired == []


def test_committed_schemas_match_the_models(tmp_path):
    from pathlib import Path

    from service.schemas import SCHEMAS, schema_text

    committed = Path(__file__).resolve().parent.parent / "schemas"
    for name, model in SCHEMAS.items():
        assert (committed / name).read_text(encoding="utf-8") == schema_text(model), f"regenerate schemas/{name}"
