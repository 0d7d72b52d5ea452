"""A recommendation: the fold, then the envelope and the pool, then the result document.

This is the one entry point the command line, the HTTP service and the simulator call:
:func:`recommend` takes a validated request, a compiled ruleset and a matcher (the engine that
decides which rule conditions hold) and returns the result as JSON-ready data (CONTRACT.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from service.domain import gcpause
from service.domain.allocation import fund_tiers
from service.domain.evaluation import CANCELLED, EXCLUDED, Fold, LineOutcome
from service.domain.explain import money_words
from service.domain.facts import LineFacts, request_facts
from service.domain.money import ZERO, fen_text, from_fen, money_text, to_fen
from service.domain.records import BudgetRequest, Department
from service.domain.ruleset import CompiledRuleset

STATUSES = (EXCLUDED, CANCELLED, "reduced", "funded")
# What a person reads: the cited documents by their full titles (never an internal file).
ENVELOPE_CITATION = (
    "中共中央 国务院关于全面实施预算绩效管理的意见（中发〔2018〕34号）；"
    "武定县2020年预算绩效管理工作自评报告 三(二)「对绩效好、评估结果和实施效果好的项目、支出要优先保障」"
)
POOL_CITATION = (
    "中华人民共和国预算法 第四十二条；预算法实施条例 第五十条；财预〔2015〕15号；"
    "武定县2020年预算绩效管理工作自评报告 三(二)「对长期沉淀的资金一律收回并按照有关规定统筹用于亟需支持的领域」"
)


class Matcher(Protocol):
    """Decides which compiled rule conditions hold for each line (the engine port)."""

    name: str  # the engine's name, as :func:`service.engine.make_matcher` takes it

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
    taking_part = [(i, o) for i, o in enumerate(outcomes) if o.status is None and o.amount > 0]
    candidates = Candidates(
        [i for i, _ in taking_part],
        [o.project.project_id for _, o in taking_part],
        [o.tier for _, o in taking_part],
        [to_fen(o.amount) for _, o in taking_part],
        [o.project.urgent for _, o in taking_part],
    )
    env_shares, pool_shares, env_left, pool_left = share_envelope(to_fen(request.envelope), to_fen(pool), candidates)
    from_envelope = [from_fen(env_shares.get(i, 0)) for i in range(n)]
    from_pool = [from_fen(pool_shares.get(i, 0)) for i in range(n)]
    for o, env, from_the_pool in zip(outcomes, from_envelope, from_pool, strict=True):
        if o.status is None:
            o.explanations += allocation_explanations(o.tier, o.amount, env, from_the_pool)
    return Evaluation(
        request, ruleset, outcomes, list(from_envelope), from_pool, pool, from_fen(env_left), from_fen(pool_left)
    )


class Candidates(NamedTuple):
    """The lines that take part in the allocation (not excluded or cancelled, amount > 0), as columns: one entry a
    line, money in fens."""

    lines: Sequence[int]  # each line's position in the request
    project_ids: Sequence[str]
    tiers: Sequence[int | None]
    amounts: Sequence[int]
    urgent: Sequence[bool]


def share_envelope(envelope: int, pool: int, candidates: Candidates) -> tuple[dict[int, int], dict[int, int], int, int]:
    """Tiers in order from the envelope, then urgent shortfalls from the pool (all in fens).

    Returns the envelope shares and the pool shares (by line position), and what is left of each.
    """
    lines, project_ids, tiers, amounts, urgent = candidates
    ranks = [0 if tier is None else tier for tier in tiers]
    env, env_left = fund_tiers(envelope, ranks, amounts, project_ids)
    short = [k for k, (u, amount, share) in enumerate(zip(urgent, amounts, env, strict=True)) if u and amount > share]
    from_pool, pool_left = fund_tiers(
        pool, [ranks[k] for k in short], [amounts[k] - env[k] for k in short], [project_ids[k] for k in short]
    )
    env_shares = dict(zip(lines, env, strict=True))
    pool_shares = {lines[k]: share for k, share in zip(short, from_pool, strict=True)}
    return env_shares, pool_shares, env_left, pool_left


def allocation_explanations(tier: int | None, amount: Decimal, env: Decimal, pool: Decimal) -> list[dict[str, Any]]:
    """Why a line got less than its amount after the policies, or something from the pool."""
    out: list[dict[str, Any]] = []
    if amount <= 0:
        return out
    if env < amount:
        out.append(
            {
                "policy": "envelope-allocation",
                "rule": "tier-order",
                "outcome": "applied",
                "action": "allocate",
                "effect": money_text(env - amount),
                "reason": {
                    "zh": f"年度可安排财力不足以全额安排第{tier}档：按档次顺序与比例安排{money_words(env)}元"
                    f"（政策后金额{money_words(amount)}元）。",
                    "en": f"The envelope cannot fund tier {tier} in full: funded in tier order and pro rata, "
                    f"{money_words(env)} of the {money_words(amount)} left after the policies.",
                },
                "citation": ENVELOPE_CITATION,
                "facts": {"tier": tier, "after_policies": money_text(amount)},
                "params": {},
            }
        )
    if pool > 0:
        out.append(
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
                "facts": {"urgent": True, "shortfall": money_text(amount - env)},
                "params": {},
            }
        )
    return out


# ------------------------------------------------------------------------------- result document


def line_status(terminal: str | None, recommended: Decimal | int, requested: Decimal | int) -> str:
    """A line's status: as the policies ended it, else by what the allocation gave it (amounts, or whole fens)."""
    if terminal is not None:
        return terminal
    return "reduced" if recommended < requested else "funded"


def _line_json(o: LineOutcome, env: Decimal | None, pool: Decimal) -> tuple[dict[str, Any], LineSums]:
    """A line of the result document, and what the summary needs of it (money as whole fens: every amount
    here is already to the fen, so the text is formatted from the integer, not from the Decimal)."""
    p = o.project
    requested, after_policies, from_pool, reclaimed = (
        to_fen(p.requested),
        to_fen(o.amount),
        to_fen(pool),
        to_fen(o.reclaimed),
    )
    recommended = (to_fen(env) if env is not None else after_policies) + from_pool
    status = o.status or ("reduced" if recommended < requested else "funded")
    line = {
        "project_id": p.project_id,
        "department_id": p.department_id,
        "name": p.name,
        "kind": str(p.kind),
        "requested": fen_text(requested),
        "after_policies": fen_text(after_policies),
        "recommended": fen_text(recommended),
        "allocated_from_pool": fen_text(from_pool),
        "reclaimed": fen_text(reclaimed),
        "status": status,
        "tier": o.tier,
        "flags": list(o.flags.values()),
        "explanations": o.explanations,
    }
    return line, LineSums(p.department_id, status, requested, after_policies, recommended, reclaimed, from_pool)


@dataclass(frozen=True, slots=True)
class LineSums:
    """What the summary needs of one line (money in fens)."""

    department_id: str
    status: str
    requested: int
    after_policies: int
    recommended: int
    reclaimed: int
    allocated_from_pool: int


_SUMMED = ("requested", "after_policies", "recommended", "reclaimed", "allocated_from_pool")
_ORDER = ("requested", "after_policies", "recommended", "cut", "reclaimed", "allocated_from_pool")


def _totals(lines: Iterable[LineSums]) -> tuple[dict[str, int], dict[str, int]]:
    counts = dict.fromkeys(STATUSES, 0)
    requested = after_policies = recommended = reclaimed = allocated_from_pool = 0
    for line in lines:  # plain locals: a getattr per field and line was 0.6 s of a 100,000-line CLI profile
        requested += line.requested
        after_policies += line.after_policies
        recommended += line.recommended
        reclaimed += line.reclaimed
        allocated_from_pool += line.allocated_from_pool
        counts[line.status] += 1
    return department_totals((requested, after_policies, recommended, reclaimed, allocated_from_pool), counts)


def _money_map(values: dict[str, int], order: Sequence[str]) -> dict[str, str]:
    return {k: money_text(from_fen(values[k])) for k in order}


def summarize(
    lines: Sequence[LineSums], departments: Sequence[Department], reserve_envelope: Decimal, reserve_pool: Decimal
) -> dict[str, Any]:
    """The summary of CONTRACT.md: totals, counts by status, and the same per department."""
    per_department: dict[str, list[LineSums]] = {}
    for line in lines:
        per_department.setdefault(line.department_id, []).append(line)
    totals = {department_id: _totals(members) for department_id, members in per_department.items()}
    return summary_of(totals, departments, reserve_envelope, reserve_pool)


def summary_of(
    totals: Mapping[str, tuple[dict[str, int], dict[str, int]]],
    departments: Sequence[Department],
    reserve_envelope: Decimal,
    reserve_pool: Decimal,
) -> dict[str, Any]:
    """:func:`summarize` from each department's sums (fens, ``cut`` included) and counts by status."""
    sums = dict.fromkeys((*_SUMMED, "cut"), 0)
    counts = dict.fromkeys(STATUSES, 0)
    for d_sums, d_counts in totals.values():
        for key in sums:
            sums[key] += d_sums[key]
        for key in counts:
            counts[key] += d_counts[key]
    sums["reserve_envelope"] = to_fen(reserve_envelope)
    sums["reserve_pool"] = to_fen(reserve_pool)
    sums["reserve"] = sums["reserve_envelope"] + sums["reserve_pool"]
    by_department = []
    for d in departments:
        if d.department_id not in totals:
            continue
        d_sums, d_counts = totals[d.department_id]
        by_department.append(
            {"department_id": d.department_id, "name": d.name, "totals": _money_map(d_sums, _ORDER), "counts": d_counts}
        )
    return {
        "totals": _money_map(sums, (*_ORDER, "reserve_envelope", "reserve_pool", "reserve")),
        "counts": counts,
        "departments": by_department,
    }


def department_totals(sums: Sequence[int], counts: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """A department's totals as :func:`summary_of` takes them, from its five sums in ``_SUMMED``'s order."""
    d_sums = dict(zip(_SUMMED, sums, strict=True))
    d_sums["cut"] = d_sums["requested"] - d_sums["after_policies"]
    return d_sums, counts


def document_head(request: BudgetRequest | Any, ruleset: CompiledRuleset, decision_id: str | None) -> dict[str, Any]:
    """The result's head. ``decision_id`` is given only where the decision is recorded (null otherwise):
    an id that names nothing stored would send a reader to a 404."""
    return {
        "decision_id": decision_id,
        "ruleset": ruleset.ref(),
        "fiscal_year": request.fiscal_year,
        "envelope": money_text(request.envelope) if request.envelope is not None else None,
    }


def result_document(evaluation: Evaluation, decision_id: str | None = None) -> dict[str, Any]:
    """The result JSON of CONTRACT.md (money as two-decimal strings; lines in request order)."""
    lines = []
    sums = []
    for o, env, pool in zip(evaluation.outcomes, evaluation.from_envelope, evaluation.from_pool, strict=True):
        line, line_sums = _line_json(o, env, pool)
        lines.append(line)
        sums.append(line_sums)
    summary = summarize(sums, evaluation.request.departments, evaluation.reserve_envelope, evaluation.reserve_pool)
    return {**document_head(evaluation.request, evaluation.ruleset, decision_id), "lines": lines, "summary": summary}


def recommend(
    request: BudgetRequest, ruleset: CompiledRuleset, matcher: Matcher, decision_id: str | None = None
) -> dict[str, Any]:
    with gcpause.paused():  # an acyclic document of millions of objects: see service/domain/gcpause.py
        return result_document(evaluate(request, ruleset, matcher), decision_id)
