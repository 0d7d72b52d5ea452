"""The totals a result page shows (合计): by action, by department, by tier, and the reserve and pool.

Money is Decimal throughout; every figure is a sum over the result's own lines and summary, so it adds up
to what the result says. Nothing here decides anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

# The actions a person asks about, in the order of GLOSSARY.md, and what counts toward each.
CUT_ACTIONS = frozenset({"cut", "cap", "performance_share"})
ACTION_ORDER = ("cut", "cancel", "exclude", "reclaim", "protect")


@dataclass
class Total:
    key: str
    count: int = 0
    amount: Decimal = Decimal("0.00")


@dataclass
class DepartmentTotal:
    department_id: str
    name: str
    requested: Decimal
    recommended: Decimal
    count: int

    @property
    def change(self) -> Decimal:
        return self.recommended - self.requested

    @property
    def rate(self) -> Decimal | None:
        """The change as a percentage of the request (None when nothing was requested)."""
        if self.requested == 0:
            return None
        return (self.change * 100 / self.requested).quantize(Decimal("0.01"))


@dataclass
class TierTotal:
    tier: int | None
    count: int = 0
    requested: Decimal = Decimal("0.00")
    recommended: Decimal = Decimal("0.00")


@dataclass
class ResultTotals:
    actions: list[Total]
    departments: list[DepartmentTotal]
    tiers: list[TierTotal]
    requested: Decimal
    recommended: Decimal
    envelope: Decimal | None
    reserve_envelope: Decimal
    reserve_pool: Decimal
    reclaimed: Decimal
    from_pool: Decimal
    over_envelope: Decimal = field(default=Decimal("0.00"))

    @property
    def rate(self) -> Decimal | None:
        """The whole result's change as a percentage of the request."""
        if self.requested == 0:
            return None
        return ((self.recommended - self.requested) * 100 / self.requested).quantize(Decimal("0.01"))


def _d(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal("0.00")
    except ArithmeticError:
        return Decimal("0.00")


def _flag_codes(line: dict[str, Any]) -> set[str]:
    return {str(f.get("code")) if isinstance(f, dict) else str(f) for f in line.get("flags") or []}


def of(result: dict[str, Any]) -> ResultTotals:
    lines: list[dict[str, Any]] = list(result.get("lines") or [])
    summary = result.get("summary") or {}
    totals = summary.get("totals") or {}
    actions = {key: Total(key) for key in ACTION_ORDER}
    tiers: dict[int | None, TierTotal] = {}
    for line in lines:
        requested, recommended = _d(line.get("requested")), _d(line.get("recommended"))
        status = line.get("status")
        applied = [e for e in line.get("explanations") or [] if e.get("outcome") == "applied"]
        cut = sum(
            (_d(e.get("effect")) for e in applied if set(str(e.get("action", "")).split("+")) & CUT_ACTIONS),
            Decimal("0.00"),
        )
        if status == "cancelled":
            actions["cancel"].count += 1
            actions["cancel"].amount += requested
        elif status == "excluded":
            actions["exclude"].count += 1
            actions["exclude"].amount += requested
        elif cut < 0:
            actions["cut"].count += 1
            actions["cut"].amount += -cut
        if _d(line.get("reclaimed")) > 0:
            actions["reclaim"].count += 1
            actions["reclaim"].amount += _d(line.get("reclaimed"))
        if _d(line.get("allocated_from_pool")) > 0 or "priority" in _flag_codes(line):
            actions["protect"].count += 1
            actions["protect"].amount += _d(line.get("allocated_from_pool"))
        tier = line.get("tier")
        bucket = tiers.setdefault(
            tier if isinstance(tier, int) else None, TierTotal(tier if isinstance(tier, int) else None)
        )
        bucket.count += 1
        bucket.requested += requested
        bucket.recommended += recommended
    departments = []
    for d in summary.get("departments") or []:
        t = d.get("totals") or {}
        counts = d.get("counts") or {}
        departments.append(
            DepartmentTotal(
                department_id=str(d.get("department_id", "")),
                name=str(d.get("name") or ""),
                requested=_d(t.get("requested")),
                recommended=_d(t.get("recommended")),
                count=sum(int(v) for v in counts.values() if isinstance(v, int)),
            )
        )
    envelope = _d(result["envelope"]) if result.get("envelope") is not None else None
    recommended = _d(totals.get("recommended"))
    return ResultTotals(
        actions=[actions[k] for k in ACTION_ORDER],
        departments=departments,
        tiers=[tiers[k] for k in sorted(tiers, key=lambda t: (t is None, t or 0))],
        requested=_d(totals.get("requested")),
        recommended=recommended,
        envelope=envelope,
        reserve_envelope=_d(totals.get("reserve_envelope")),
        reserve_pool=_d(totals.get("reserve_pool")),
        reclaimed=_d(totals.get("reclaimed")),
        from_pool=_d(totals.get("allocated_from_pool")),
        over_envelope=max(recommended - envelope, Decimal("0.00")) if envelope is not None else Decimal("0.00"),
    )


@cache
def policy_titles() -> dict[str, tuple[str, str]]:
    """Each shipped policy's title (zh, en), to name a policy in words rather than by its id."""
    from service.policyfiles import Catalog

    catalog, _ = Catalog.load_all()
    titles = {pid: (p.title.zh, p.title.en) for pid, p in catalog.policies.items()}
    titles["envelope-allocation"] = ("财力可安排数内按档次安排", "allocation within the envelope")
    titles["pool-allocation"] = ("收回统筹资金安排", "allocation from the pool")
    return titles


def policy_title(policy_id: str, lang: str) -> str:
    pair = policy_titles().get(policy_id)
    if pair is None:
        return policy_id
    return pair[1] if lang == "en" else pair[0]


@cache
def _parameter_descriptions() -> dict[tuple[str, str], tuple[str, str]]:
    from service.policyfiles import Catalog

    catalog, _ = Catalog.load_all()
    out = {}
    for pid, policy in catalog.policies.items():
        for name, parameter in (policy.parameters or {}).items():
            if parameter.description is not None:
                out[(pid, name)] = (parameter.description.zh, parameter.description.en)
    return out


def parameter_label(policy_id: str, name: str, lang: str) -> str:
    """A policy parameter as a person reads it: its description in the policy file, else its name."""
    pair = _parameter_descriptions().get((policy_id, name))
    if pair is None:
        return name
    return pair[1] if lang == "en" else pair[0]
