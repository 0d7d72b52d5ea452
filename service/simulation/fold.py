"""The precedence fold of ``service.domain.evaluation.Fold``, vectorized over columns.

Compiled from the same policy IR: for each policy in precedence order, the first rule whose
condition holds applies (``hit = condition & ~earlier conditions``); a line already excluded or
cancelled is left alone by policies that supersede; within a rule the actions run in order and the
``only_if_changed`` ones follow only where another action changed the line. A protected line (policy 0,
``protect``) is left alone by policies that waive or skip; where a waiving one would have changed it,
it gets the review flag instead. Amounts are whole fens.
Explanations are not produced here: the simulator asks the domain fold for the lines it shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from service.domain.ruleset import BoundAction, CompiledPolicy, CompiledRuleset
from service.simulation.columns import SCORE_SCALE, Bools, Columns, Ints
from service.simulation.fenmath import SAFE, round_half_up
from service.simulation.groups import GroupMembership, membership
from service.simulation.masks import mask

LIVE, EXCLUDED, CANCELLED = 0, 1, 2
NO_TIER = -1
STATUS_CODES = {"exclude": EXCLUDED, "cancel": CANCELLED}


@dataclass(slots=True)
class FoldState:
    """Every line after the policies: amount (fens), status code, tier (−1: none), flag bits, reclaimed."""

    amount: Ints
    status: npt.NDArray[np.int8]
    tier: npt.NDArray[np.int8]
    flags: npt.NDArray[np.uint64]
    reclaimed: Ints
    flag_codes: tuple[str, ...] = field(default=())
    # During the fold only: which lines are protected, and the review flag bit each would get.
    protected: Bools | None = None
    review: npt.NDArray[np.uint64] | None = None

    def flag_list(self, i: int) -> list[str]:
        bits = int(self.flags[i])
        return [code for b, code in enumerate(self.flag_codes) if bits >> b & 1]


def flag_codes(ruleset: CompiledRuleset) -> tuple[str, ...]:
    """Every flag code the ruleset can set, in first-use order (bit b is ``codes[b]``)."""
    seen: dict[str, None] = {}
    for policy in ruleset.policies:
        for rule in policy.rules:
            for action in rule.actions:
                if action.kind in ("flag", "protect") and action.code:
                    seen[action.code] = None
        for group in policy.group_rules:
            seen[group.code] = None
    if len(seen) > 64:
        raise ValueError("the vectorized fold supports at most 64 distinct flag codes")
    return tuple(seen)


def group_memberships(ruleset: CompiledRuleset, columns: Columns) -> dict[str, GroupMembership]:
    """The memberships of every cross-line rule (computed on the whole dataset, never on a partition)."""
    return {g.key: membership(g, columns) for p in ruleset.policies for g in p.group_rules}


def run_fold(ruleset: CompiledRuleset, columns: Columns, groups: Mapping[str, Bools]) -> FoldState:
    """The fold over ``columns``; ``groups`` gives each group rule's flagged lines for these same lines."""
    n = columns.size
    base = ruleset.base_tiers
    kind = columns.column("kind")
    assert kind.vocab is not None
    tier_of_code = np.array([base.get(k, NO_TIER) for k in kind.vocab] + [NO_TIER], dtype=np.int8)
    codes = flag_codes(ruleset)
    state = FoldState(
        amount=columns.column("requested").values.copy(),
        status=np.zeros(n, dtype=np.int8),
        tier=tier_of_code[kind.values],
        flags=np.zeros(n, dtype=np.uint64),
        reclaimed=np.zeros(n, dtype=np.int64),
        flag_codes=codes,
        protected=np.zeros(n, dtype=np.bool_),
        review=np.zeros(n, dtype=np.uint64),
    )
    bits = {code: np.uint64(1 << b) for b, code in enumerate(codes)}
    for policy in ruleset.policies:
        supersedes = policy.on_terminated == "supersede"
        if policy.group_rules:
            for group in policy.group_rules:
                hit = groups[group.key] & (state.status == LIVE) if supersedes else groups[group.key]
                state.flags[hit] |= bits[group.code]
            continue
        _apply_policy(policy, columns, state, bits, supersedes)
    return state


def _apply_policy(
    policy: CompiledPolicy, columns: Columns, state: FoldState, bits: Mapping[str, np.uint64], supersedes: bool
) -> None:
    taken = np.zeros(columns.size, dtype=np.bool_)
    for rule in policy.rules:
        holds = mask(rule.condition, columns)
        hit = holds & ~taken
        taken |= holds
        if supersedes:
            hit &= state.status == LIVE
        if policy.on_protected != "apply" and state.protected is not None:
            shielded = hit & state.protected
            hit &= ~state.protected
            if policy.on_protected == "waive" and shielded.any():
                _waive(rule.actions, np.flatnonzero(shielded), columns, state, bits)
        index = np.flatnonzero(hit)
        if index.size:
            _apply_rule(rule.actions, index, columns, state, bits)


def _apply_rule(
    actions: Sequence[BoundAction],
    index: npt.NDArray[np.intp],
    columns: Columns,
    state: FoldState,
    bits: Mapping[str, np.uint64],
) -> None:
    changed = np.zeros(index.size, dtype=np.bool_)
    for action in actions:
        if not action.only_if_changed:
            changed |= _act(action, index, columns, state, bits)
    follow = index[changed]
    for action in actions:
        if action.only_if_changed and follow.size:
            _act(action, follow, columns, state, bits)


def _waive(
    actions: Sequence[BoundAction],
    index: npt.NDArray[np.intp],
    columns: Columns,
    state: FoldState,
    bits: Mapping[str, np.uint64],
) -> None:
    """Protected lines at ``index``: where the rule would have changed one, it gets its review flag."""
    assert state.review is not None
    shadow = FoldState(
        state.amount.copy(), state.status.copy(), state.tier.copy(), state.flags.copy(), state.reclaimed.copy()
    )
    changed = np.zeros(index.size, dtype=np.bool_)
    for action in actions:
        if not action.only_if_changed:
            changed |= _act(action, index, columns, shadow, bits)
    would = index[changed]
    state.flags[would] |= state.review[would]


def _act(
    action: BoundAction, index: npt.NDArray[np.intp], columns: Columns, state: FoldState, bits: Mapping[str, np.uint64]
) -> Bools:
    """Apply one action to the lines at ``index``; where it changed something (as ``evaluation._act``)."""
    everywhere = np.ones(index.size, dtype=np.bool_)
    kind = action.kind
    if kind in STATUS_CODES:
        state.status[index] = STATUS_CODES[kind]
        state.amount[index] = 0
        state.tier[index] = NO_TIER
        return everywhere
    if kind == "flag":
        state.flags[index] |= bits[action.code or ""]
        return everywhere
    if kind == "cap":
        limit = columns.column(action.field or "")
        changed = limit.present[index] & (state.amount[index] > limit.values[index])
        state.amount[index[changed]] = limit.values[index[changed]]
        return changed
    if kind == "cut":
        assert action.rate is not None
        rate = Fraction(action.rate)
        cut = round_half_up(state.amount[index], rate.numerator, rate.denominator)
        state.amount[index] -= cut
        return np.asarray(cut != 0, dtype=np.bool_)
    if kind == "set_tier":
        assert action.tier is not None
        tier = state.tier[index]
        changed = (tier != NO_TIER) & (tier != action.tier)
        if action.only_from is not None:
            changed &= np.isin(tier, action.only_from)
        state.tier[index[changed]] = action.tier
        return np.asarray(changed, dtype=np.bool_)
    if kind == "protect":
        assert state.protected is not None and state.review is not None and action.tier is not None
        state.protected[index] = True
        state.review[index] |= bits[action.code or ""]
        live = index[state.tier[index] != NO_TIER]
        state.tier[live] = action.tier
        return everywhere
    if kind == "reclaim":
        balance = columns.column(action.field or "")
        amounts = np.where(balance.present[index], balance.values[index], 0)
        state.reclaimed[index] += amounts
        return np.asarray(amounts != 0, dtype=np.bool_)
    if kind == "performance_share":
        return _performance_share(action, index, columns, state)
    raise ValueError(f"the vectorized fold has no action {kind!r}")


def _performance_share(action: BoundAction, index: npt.NDArray[np.intp], columns: Columns, state: FoldState) -> Bools:
    """amount = round(amount × (1 − p)) + round(amount × p × d / 100), d the score (missing: 0)."""
    assert action.rate is not None
    p = Fraction(action.rate)
    amount = state.amount[index]
    base = round_half_up(amount, p.denominator - p.numerator, p.denominator)
    if action.score_field:
        score = columns.column(action.score_field)
        micro = np.where(score.present[index], score.values[index], 0)
        if p.numerator * 100 * SCORE_SCALE < SAFE:
            part = round_half_up(amount, p.numerator * micro, p.denominator * 100 * SCORE_SCALE)
        else:  # a share with many decimals: per-line numerators as Python ints
            part = round_half_up(amount, micro.astype(object) * p.numerator, p.denominator * 100 * SCORE_SCALE)
    else:
        d = Fraction(action.score_value or 0)
        part = round_half_up(amount, p.numerator * d.numerator, p.denominator * 100 * d.denominator)
    new = base + part
    state.amount[index] = new
    return np.asarray(new != amount, dtype=np.bool_)
