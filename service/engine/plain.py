"""The plain-Python evaluator of the policy IR: the reference the durable-rules path is tested against."""

from __future__ import annotations

from collections.abc import Sequence

from service.domain.conditions import evaluate
from service.domain.facts import LineFacts
from service.domain.ruleset import CompiledRuleset


class PlainMatcher:
    """Evaluates every compiled condition directly on the line's facts (Decimal arithmetic)."""

    name = "plain"

    def __init__(self, ruleset: CompiledRuleset) -> None:
        self.ruleset = ruleset
        self._rules = ruleset.match_rules

    def match(self, facts: Sequence[LineFacts]) -> list[frozenset[str]]:
        rules = self._rules
        return [frozenset(key for key, node in rules if evaluate(node, f)) for f in facts]

    def close(self) -> None:
        return None
