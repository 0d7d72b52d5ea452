"""Engines: the adapters that decide which compiled rule conditions hold for each line.

``durable.DurableRulesMatcher`` runs the conditions in durable-rules' C engine (production path);
``plain.PlainMatcher`` evaluates the same IR in plain Python (the differential oracle).
"""

from __future__ import annotations

from typing import Literal

from service.domain.decision import Matcher
from service.domain.ruleset import CompiledRuleset

EngineName = Literal["durable-rules", "plain"]
ENGINES: tuple[EngineName, ...] = ("durable-rules", "plain")


def make_matcher(ruleset: CompiledRuleset, engine: EngineName = "durable-rules") -> Matcher:
    """The matcher for a compiled ruleset: durable-rules in production, the plain evaluator as oracle."""
    if engine == "plain":
        from service.engine.plain import PlainMatcher

        return PlainMatcher(ruleset)
    from service.engine.durable import DurableRulesMatcher

    return DurableRulesMatcher(ruleset)
