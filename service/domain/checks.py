"""Static checks of a compiled ruleset that go beyond the schema: warnings a maintainer should read.

Schema, type, range, unknown-name, placeholder, citation, duplicate and precedence problems are
errors raised while loading and compiling. The checks here look at what the rules *mean*:

- score (or money) bands of different policies acting on the same field that overlap, or leave a
  gap between them (a cut band 60–80 and a cancel band below 55 leave 55–60 untreated);
- conditions that can never hold (contradictory comparisons, a field both present and missing),
  not counting rules switched off on purpose by a parameter test (``{param: missing, op: eq, …}``);

Engine limits (rules per ruleset, conditions per rule) are checked by the engine adapter
(:func:`service.engine.durable.limit_problems`), since they belong to durable-rules, not to the domain.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from service.domain.conditions import Absent, And, Compare, Const, Node, Op, Or, Present
from service.domain.errors import Problem
from service.domain.facts import FIELDS, FieldType
from service.domain.ruleset import CompiledRule, CompiledRuleset

Severity = Literal["error", "warning"]
MONEY_ACTIONS = frozenset({"exclude", "cancel", "cut", "cap", "performance_share"})


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    problem: Problem

    def __str__(self) -> str:
        return f"{self.severity}: {self.problem}"


@dataclass(frozen=True, slots=True)
class Band:
    """The part of a numeric field's range a rule's condition selects: lo..hi with inclusiveness."""

    policy: str
    rule: str
    lo: Decimal | None
    lo_closed: bool
    hi: Decimal | None
    hi_closed: bool

    def empty(self) -> bool:
        if self.lo is None or self.hi is None:
            return False
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_closed and self.hi_closed))

    def words(self) -> str:
        low = "" if self.lo is None else f"{'[' if self.lo_closed else '('}{self.lo}"
        high = "" if self.hi is None else f"{self.hi}{']' if self.hi_closed else ')'}"
        return f"{low or '(−∞'}, {high or '+∞)'}"


def _conjuncts(node: Node) -> list[Node]:
    return list(node.items) if isinstance(node, And) else [node]


def band_of(rule: CompiledRule, field: str) -> Band | None:
    """The band of ``field`` a rule's condition selects, when its condition is a plain conjunction."""
    lo: Decimal | None = None
    hi: Decimal | None = None
    lo_closed = hi_closed = False
    found = False
    for item in _conjuncts(rule.condition):
        if isinstance(item, Or) and any(isinstance(i, Compare) and i.field == field for i in item.items):
            return None
        if not isinstance(item, Compare) or item.field != field or item.ref is not None:
            continue
        if not isinstance(item.value, Decimal | int) or isinstance(item.value, bool):
            return None
        value = Decimal(item.value)
        found = True
        if item.op in (Op.gt, Op.gte) and (lo is None or value > lo or (value == lo and item.op is Op.gt)):
            lo, lo_closed = value, item.op is Op.gte
        elif item.op in (Op.lt, Op.lte) and (hi is None or value < hi or (value == hi and item.op is Op.lt)):
            hi, hi_closed = value, item.op is Op.lte
        elif item.op is Op.eq:
            lo, hi, lo_closed, hi_closed = value, value, True, True
    return Band(rule.policy_id, rule.rule_id, lo, lo_closed, hi, hi_closed) if found else None


def _never_holds(node: Node) -> str | None:
    if isinstance(node, Const):
        return None  # switched off on purpose by a parameter test
    items = _conjuncts(node)
    present = {i.field for i in items if isinstance(i, Present)}
    absent = {i.field for i in items if isinstance(i, Absent)}
    compared = {i.field for i in items if isinstance(i, Compare)}
    both = sorted((present | compared) & absent)
    if both:
        return f"{both[0]} is required to be both present and missing"
    return None


def check_ruleset(
    ruleset: CompiledRuleset, source: str = "ruleset", policy_sources: Mapping[str, str] | None = None
) -> list[Finding]:
    """Warnings: a rule's names its policy file (``policy_sources``), a band's the ruleset (its parameters)."""
    policy_sources = policy_sources or {}
    findings: list[Finding] = []
    for policy in ruleset.policies:
        for j, rule in enumerate(policy.rules):
            reason = _never_holds(rule.condition)
            band_reasons = [
                f"{f} {b.words()} is empty" for f in rule.fields if (b := band_of(rule, f)) is not None and b.empty()
            ]
            for text in ([reason] if reason else []) + band_reasons:
                findings.append(
                    _warn(
                        policy_sources.get(policy.id, source),
                        policy.id,
                        ("rules", j, "when"),
                        f"condition can never hold: {text}",
                    )
                )
    findings += _check_bands(ruleset, source)
    return findings


def _warn(source: str, policy_id: str, path: tuple[str | int, ...], message: str) -> Finding:
    return Finding("warning", Problem(path, message, record=f"policy {policy_id}", source=source))


def _numeric_fields() -> Iterable[str]:
    return [name for name, spec in FIELDS.items() if spec.type in (FieldType.score, FieldType.money)]


def _check_bands(ruleset: CompiledRuleset, source: str) -> list[Finding]:
    findings: list[Finding] = []
    for field in _numeric_fields():
        bands: list[Band] = []
        for policy in ruleset.policies:
            for rule in policy.rules:
                if not MONEY_ACTIONS & {a.kind for a in rule.actions}:
                    continue
                band = band_of(rule, field)
                if band is not None and not band.empty() and (band.lo is not None or band.hi is not None):
                    bands.append(band)
        findings += _gaps_and_overlaps(field, bands, source)
    return findings


def _gaps_and_overlaps(field: str, bands: list[Band], source: str) -> list[Finding]:
    findings: list[Finding] = []
    ordered = sorted(bands, key=lambda b: (b.lo is not None, b.lo or Decimal(0), not b.lo_closed))
    for left, right in itertools.pairwise(ordered):
        if left.policy == right.policy:
            continue
        if left.hi is None or right.lo is None:
            overlap = True
        else:
            overlap = left.hi > right.lo or (left.hi == right.lo and left.hi_closed and right.lo_closed)
        if overlap:
            findings.append(
                _warn(
                    source,
                    right.policy,
                    ("rules",),
                    f"{field} band {right.words()} of {right.policy}/{right.rule} overlaps "
                    f"{left.words()} of {left.policy}/{left.rule}: the later policy never acts there",
                )
            )
        elif (
            left.hi is not None
            and right.lo is not None
            and (left.hi < right.lo or not (left.hi_closed or right.lo_closed))
        ):
            gap = Band("", "", left.hi, not left.hi_closed, right.lo, not right.lo_closed)
            if not gap.empty():
                findings.append(
                    _warn(
                        source,
                        right.policy,
                        ("rules",),
                        f"{field} values in {gap.words()} are treated by no policy: the gap lies between "
                        f"{left.policy}/{left.rule} {left.words()} and {right.policy}/{right.rule} {right.words()}",
                    )
                )
    return findings
