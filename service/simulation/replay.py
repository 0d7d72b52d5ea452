"""Replaying lines through the domain path: runtime verification and explanations of changed lines.

Why a sample can be replayed soundly. A line's fold depends on the line, its department and the
ruleset only — except cross-line rules (overlap-review), whose flags also depend on the other members
of the line's bucket. So each sampled line is checked in two parts:

- its own facts: the domain matcher (durable-rules) decides every rule for the line, including
  whether it enters a cross-line rule's bucket (``where`` + every ``same`` field present), and this
  must agree with the vectorized bucket membership;
- its bucket: the sub-request replayed also holds the witnesses of the vectorized verdict — for a
  flagged line, enough other members to flag it (``min_size − 1`` for groups, one member differing
  in every ``differ`` field for pairs); for a member not flagged, the other members (at most
  ``MAX_PARTNERS``), so the domain can confirm it is not flagged.

The domain path (matcher + ``Fold``) then decides the sampled lines on its own; any difference in
after_policies, status, tier, flag codes, reclaimed or bucket membership raises
:class:`SimulationMismatch`. Allocation is not replayed (it needs every line): it is the domain's
``fund_by_tier`` rule, proven equal by the differential tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.domain.errors import BudgetRulesError
from service.domain.evaluation import Fold, LineOutcome
from service.domain.facts import request_facts
from service.domain.records import BudgetRequest
from service.domain.ruleset import CompiledGroupRule, CompiledRuleset
from service.engine import make_matcher
from service.simulation.columns import Columns
from service.simulation.fold import CANCELLED, EXCLUDED, FoldState
from service.simulation.groups import GroupMembership, value_codes
from service.simulation.scenario import Transform
from service.simulation.transforms import transform_department, transform_project

MAX_PARTNERS = 500
_STATUS = {0: None, EXCLUDED: "excluded", CANCELLED: "cancelled"}


class SimulationMismatch(BudgetRulesError):
    """The vectorized path and the domain path disagree on a line: the run is failed, never reported."""

    code = "simulation_mismatch"


@dataclass(frozen=True, slots=True)
class ReplayContext:
    """What a replay needs besides the lines: the records, the evaluated columns and group verdicts."""

    request: BudgetRequest
    columns: Columns  # after the variant's transforms
    transforms: Sequence[Transform]
    ruleset: CompiledRuleset
    memberships: Mapping[str, GroupMembership]


@dataclass(frozen=True, slots=True)
class ReplayPack:
    """A self-contained replay (picklable, sent to workers): the sub-request and what to compare."""

    job: str
    sub: BudgetRequest  # the sampled lines and their witnesses, transformed, without an envelope
    positions: tuple[int, ...]  # dataset position of each line of ``sub``
    sample: tuple[int, ...]  # the dataset positions to compare
    in_bucket: dict[str, tuple[bool, ...]]  # group rule key → vectorized membership of each sampled line


def _group_rules(ruleset: CompiledRuleset) -> list[CompiledGroupRule]:
    return [g for p in ruleset.policies for g in p.group_rules]


def _witnesses(
    rule: CompiledGroupRule, m: GroupMembership, codes: Mapping[str, npt.NDArray[np.int64]], i: int
) -> list[int]:
    b = int(m.bucket[i])
    if b < 0:
        return []
    members = np.flatnonzero(m.bucket == b)
    others = members[members != i]
    if not m.flagged[i]:
        return [int(j) for j in others[:MAX_PARTNERS]]
    if rule.match == "groups":
        return [int(j) for j in others[: rule.min_size - 1]]
    if not rule.differ:
        return [int(j) for j in others[:1]]
    values = np.stack([codes[f] for f in rule.differ], axis=1)
    differing = others[np.all(values[others] != values[i], axis=1)]
    return [int(j) for j in differing[:1]]


def pack(context: ReplayContext, lines: Sequence[int], job: str) -> ReplayPack:
    """The sub-request replaying ``lines`` (dataset positions) with the witnesses they need."""
    closure = set(lines)
    in_bucket = {}
    for rule in _group_rules(context.ruleset):
        m = context.memberships[rule.key]
        codes = {f: value_codes(context.columns, f) for f in rule.differ}
        for i in lines:
            closure.update(_witnesses(rule, m, codes, i))
        in_bucket[rule.key] = tuple(bool(m.bucket[i] >= 0) for i in lines)
    chosen = sorted(closure)
    request = context.request
    projects = [transform_project(request.projects[i], context.transforms) for i in chosen]
    needed = {p.department_id for p in projects}
    departments = [
        transform_department(d, context.transforms) for d in request.departments if d.department_id in needed
    ]
    sub = BudgetRequest.model_construct(
        fiscal_year=request.fiscal_year, envelope=None, ruleset=None, departments=departments, projects=projects
    )
    return ReplayPack(job, sub, tuple(chosen), tuple(lines), in_bucket)


def run_pack(
    replay: ReplayPack, ruleset: CompiledRuleset, engine: str
) -> dict[int, tuple[LineOutcome, frozenset[str]]]:
    """The domain outcome and matched rule keys of each sampled line (keyed by dataset position)."""
    facts = request_facts(replay.sub)
    matcher = make_matcher(ruleset, engine)  # type: ignore[arg-type]
    try:
        matches = matcher.match(facts)
    finally:
        close = getattr(matcher, "close", None)
        if close is not None:
            close()
    outcomes = Fold(ruleset).run(replay.sub, facts, matches)
    wanted = set(replay.sample)
    return {i: (o, m) for i, o, m in zip(replay.positions, outcomes, matches, strict=True) if i in wanted}


def differences(outcome: LineOutcome, fold: FoldState, i: int) -> list[str]:
    """What differs between the domain outcome and the vectorized fold for line ``i`` (empty: equal)."""
    tier = int(fold.tier[i])
    mine = {
        "after_policies": int(fold.amount[i]),
        "status": _STATUS[int(fold.status[i])],
        "tier": None if tier < 0 else tier,
        "flags": sorted(fold.flag_list(i)),
        "reclaimed": int(fold.reclaimed[i]),
    }
    theirs = {
        "after_policies": int(outcome.amount.scaleb(2)),
        "status": outcome.status,
        "tier": outcome.tier,
        "flags": sorted(outcome.flags),
        "reclaimed": int(outcome.reclaimed.scaleb(2)),
    }
    return [f"{k}: domain {theirs[k]!r}, vectorized {mine[k]!r}" for k in mine if mine[k] != theirs[k]]


def check(
    replay: ReplayPack, ruleset: CompiledRuleset, fold: FoldState, engine: str, lines: range | None = None
) -> int:
    """Replay and compare the sampled lines within ``lines`` (the fold's range); lines checked.

    ``fold`` covers the dataset positions ``lines`` (all of them when ``lines`` is None). Raises
    :class:`SimulationMismatch` on the first difference.
    """
    span = lines if lines is not None else range(fold.amount.size)
    if not any(i in span for i in replay.sample):
        return 0
    results = run_pack(replay, ruleset, engine)
    rules = _group_rules(ruleset)
    checked = 0
    for k, i in enumerate(replay.sample):
        if i not in span:
            continue
        outcome, matched = results[i]
        diff = differences(outcome, fold, i - span.start)
        for rule in rules:
            domain = rule.key in matched and all(outcome.facts.get(f) is not None for f in rule.same)
            if domain != replay.in_bucket[rule.key][k]:
                diff.append(f"{rule.policy_id}/{rule.rule_id} membership: domain {domain}, vectorized {not domain}")
        if diff:
            raise SimulationMismatch(
                f"{replay.job}: line {outcome.project.project_id} differs between {engine} and the vectorized path: "
                + "; ".join(diff)
            )
        checked += 1
    return checked


def replay(context: ReplayContext, lines: Sequence[int], engine: str) -> dict[int, LineOutcome]:
    """The domain outcomes (with explanations) of ``lines``, for the report."""
    return {i: o for i, (o, _) in run_pack(pack(context, lines, "explain"), context.ruleset, engine).items()}


def sample_lines(size: int, count: int, seed: int) -> list[int]:
    """``count`` distinct dataset positions, drawn with a seeded generator (all of them if fewer)."""
    if count >= size:
        return list(range(size))
    rng = np.random.default_rng(seed)
    picked: npt.NDArray[np.int64] = np.sort(rng.choice(size, size=count, replace=False))
    return [int(i) for i in picked]
