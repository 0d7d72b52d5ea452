"""A recommendation: the fold, then the envelope and the pool, then the result document.

This is the one entry point the command line, the HTTP service and the simulator call:
:func:`recommend` takes a validated request, a compiled ruleset and a matcher (the engine that
decides which rule conditions hold) and returns the result as JSON-ready data (CONTRACT.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from service.domain.allocation import Claim, fund_by_tier
from service.domain.evaluation import CANCELLED, EXCLUDED, Fold, LineOutcome
from service.domain.explain import money_words
from service.domain.facts import LineFacts, request_facts
from service.domain.money import ZERO, from_fen, money_text, to_fen
from service.domain.records import BudgetRequest
from service.domain.ruleset import CompiledRuleset

STATUSES = (EXCLUDED, CANCELLED, "reduced", "funded")
ENVELOPE_CITATION = "WD2020 三(二)「对绩效好…的项目、支出要优先保障」; POLICIES.md allocation within the envelope"
POOL_CITATION = "YSF-42; WD2020 三(二)「对长期沉淀的资金一律收回并按照有关规定统筹用于亟需支持的领域」"


class Matcher(Protocol):
    """Decides which compiled rule conditions hold for each line (the engine port)."""

    def match(self, facts: Sequence[LineFacts]) -> list[frozenset[str]]: ...


@dataclass(slots=True)
class Evaluation:
    request: BudgetRequest
    ruleset: CompiledRuleset
    outcomes: list[LineOutcome]
    from_envelope: list[Decimal | None]  # None: no envelope was given
    from_pool: list[Decimal]
    pool: Decimal
    reserve_envelope: Decimal
    reserve_pool: Decimal


def evaluate(request: BudgetRequest, ruleset: CompiledRuleset, matcher: Matcher) -> Evaluation:
    facts = request_facts(request)
    matches = matcher.match(facts)
    outcomes = Fold(ruleset).run(request, facts, matches)
    return allocate(request, ruleset, outcomes)


def allocate(request: BudgetRequest, ruleset: CompiledRuleset, outcomes: list[LineOutcome]) -> Evaluation:
    pool = sum((o.reclaimed for o in outcomes), ZERO)
    n = len(outcomes)
    if request.envelope is None:
        return Evaluation(request, ruleset, outcomes, [None] * n, [ZERO] * n, pool, ZERO, pool)
    claims = [
        Claim(i, o.project.project_id, o.tier if o.tier is not None else 0, to_fen(o.amount))
        for i, o in enumerate(outcomes)
        if o.status is None and o.amount > 0
    ]
    env_shares, env_left = fund_by_tier(to_fen(request.envelope), claims)
    urgent = [
        Claim(c.index, c.project_id, c.tier, c.amount - env_shares[c.index])
        for c in claims
        if outcomes[c.index].project.urgent and c.amount > env_shares[c.index]
    ]
    pool_shares, pool_left = fund_by_tier(to_fen(pool), urgent)
    from_envelope = [from_fen(env_shares.get(i, 0)) for i in range(n)]
    from_pool = [from_fen(pool_shares.get(i, 0)) for i in range(n)]
    explain_allocation(outcomes, from_envelope, from_pool)
    return Evaluation(
        request,
        ruleset,
        outcomes,
        list(from_envelope),
        from_pool,
        pool,
        from_fen(env_left),
        from_fen(pool_left),
    )


def explain_allocation(outcomes: list[LineOutcome], from_envelope: list[Decimal], from_pool: list[Decimal]) -> None:
    for o, env, pool in zip(outcomes, from_envelope, from_pool, strict=True):
        if o.status is not None or o.amount <= 0:
            continue
        if env < o.amount:
            o.explanations.append(
                {
                    "policy": "envelope-allocation",
                    "rule": "tier-order",
                    "outcome": "applied",
                    "action": "allocate",
                    "effect": money_text(env - o.amount),
                    "reason": {
                        "zh": f"年度可安排财力不足以全额安排第{o.tier}档：按档次顺序与比例安排{money_words(env)}元"
                        f"（政策后金额{money_words(o.amount)}元）。",
                        "en": f"The envelope cannot fund tier {o.tier} in full: funded in tier order and pro rata, "
                        f"{money_words(env)} of the {money_words(o.amount)} left after the policies.",
                    },
                    "citation": ENVELOPE_CITATION,
                    "facts": {"tier": o.tier, "after_policies": money_text(o.amount)},
                    "params": {},
                }
            )
        if pool > 0:
            o.explanations.append(
                {
                    "policy": "pool-allocation",
                    "rule": "urgent-shortfall",
                    "outcome": "applied",
                    "action": "allocate_from_pool",
                    "effect": money_text(pool),
                    "reason": {
                        "zh": f"该项目属亟需支持的领域，从收回统筹资金中安排{money_words(pool)}元弥补缺口。",
                        "en": f"The line serves an area in urgent need: {money_words(pool)} of reclaimed idle funds "
                        "cover part of its shortfall.",
                    },
                    "citation": POOL_CITATION,
                    "facts": {"urgent": True, "shortfall": money_text(o.amount - env)},
                    "params": {},
                }
            )


# ------------------------------------------------------------------------------- result document


def _status(o: LineOutcome, recommended: Decimal) -> str:
    if o.status is not None:
        return o.status
    return "reduced" if recommended < o.project.requested else "funded"


def _line_json(o: LineOutcome, env: Decimal | None, pool: Decimal) -> dict[str, Any]:
    recommended = (env if env is not None else o.amount) + pool
    p = o.project
    return {
        "project_id": p.project_id,
        "department_id": p.department_id,
        "name": p.name,
        "kind": p.kind.value,
        "requested": money_text(p.requested),
        "after_policies": money_text(o.amount),
        "recommended": money_text(recommended),
        "allocated_from_pool": money_text(pool),
        "reclaimed": money_text(o.reclaimed),
        "status": _status(o, recommended),
        "tier": o.tier,
        "flags": list(o.flags.values()),
        "explanations": o.explanations,
    }


_SUMMED = ("requested", "after_policies", "recommended", "reclaimed", "allocated_from_pool")


def _totals(lines: Sequence[dict[str, Any]]) -> tuple[dict[str, Decimal], dict[str, int]]:
    sums = dict.fromkeys(_SUMMED, ZERO)
    counts = dict.fromkeys(STATUSES, 0)
    for line in lines:
        for k in _SUMMED:
            sums[k] += Decimal(line[k])
        counts[line["status"]] += 1
    sums["cut"] = sums["requested"] - sums["after_policies"]
    return sums, counts


def _money_map(values: dict[str, Decimal], order: Sequence[str]) -> dict[str, str]:
    return {k: money_text(values[k]) for k in order}


def result_document(evaluation: Evaluation, decision_id: str | None = None) -> dict[str, Any]:
    """The result JSON of CONTRACT.md (money as two-decimal strings; lines in request order)."""
    lines = [
        _line_json(o, env, pool)
        for o, env, pool in zip(evaluation.outcomes, evaluation.from_envelope, evaluation.from_pool, strict=True)
    ]
    sums, counts = _totals(lines)
    sums["reserve_envelope"] = evaluation.reserve_envelope
    sums["reserve_pool"] = evaluation.reserve_pool
    sums["reserve"] = evaluation.reserve_envelope + evaluation.reserve_pool
    order = ("requested", "after_policies", "recommended", "cut", "reclaimed", "allocated_from_pool")
    per_department: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        per_department.setdefault(line["department_id"], []).append(line)
    departments = []
    for d in evaluation.request.departments:
        members = per_department.get(d.department_id, [])
        if not members:
            continue
        d_sums, d_counts = _totals(members)
        departments.append(
            {
                "department_id": d.department_id,
                "name": d.name,
                "totals": _money_map(d_sums, order),
                "counts": d_counts,
            }
        )
    return {
        "decision_id": decision_id or str(uuid.uuid4()),
        "ruleset": evaluation.ruleset.ref(),
        "fiscal_year": evaluation.request.fiscal_year,
        "envelope": money_text(evaluation.request.envelope) if evaluation.request.envelope is not None else None,
        "lines": lines,
        "summary": {
            "totals": _money_map(sums, (*order, "reserve_envelope", "reserve_pool", "reserve")),
            "counts": counts,
            "departments": departments,
        },
    }


def recommend(
    request: BudgetRequest, ruleset: CompiledRuleset, matcher: Matcher, decision_id: str | None = None
) -> dict[str, Any]:
    return result_document(evaluate(request, ruleset, matcher), decision_id)
