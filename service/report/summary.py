"""Totals a budget document shows, computed exactly from a result (CONTRACT.md) — never re-decided.

By department (申报, 核减, 取消, 不予纳入, 收回统筹, 建议, 增减), by action, by tier and protected
spending (保障类支出). Every amount is a ``Decimal`` sum of the result's own strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service.report.words import yuan

ZERO = Decimal("0.00")


@dataclass
class DepartmentTotals:
    """One row of 部门汇总."""

    department_id: str
    name: str
    requested: Decimal = ZERO  # 申报数
    cut: Decimal = ZERO  # 核减 (reduced lines: requested - after policies)
    cancelled: Decimal = ZERO  # 取消 (requested of cancelled lines)
    excluded: Decimal = ZERO  # 不予纳入
    reclaimed: Decimal = ZERO  # 收回统筹
    recommended: Decimal = ZERO  # 建议数
    lines: int = 0

    @property
    def change(self) -> Decimal:
        """建议数 - 申报数 (增减)."""
        return self.recommended - self.requested


@dataclass
class GroupTotals:
    """Lines and money of one action or tier."""

    label: str
    lines: int = 0
    amount: Decimal = ZERO
    projects: list[str] = field(default_factory=list)


def department_names(result: Mapping[str, Any], request: Mapping[str, Any] | None = None) -> dict[str, str]:
    """department_id → name, from the result's summary and the request when given."""
    names: dict[str, str] = {}
    for row in (result.get("summary") or {}).get("departments") or []:
        if row.get("name"):
            names[str(row.get("department_id"))] = str(row["name"])
    for dept in (request or {}).get("departments") or []:
        names.setdefault(str(dept.get("department_id")), str(dept.get("name") or ""))
    return names


def by_department(result: Mapping[str, Any], names: Mapping[str, str]) -> list[DepartmentTotals]:
    rows: dict[str, DepartmentTotals] = {}
    for line in result.get("lines") or []:
        dept = str(line.get("department_id"))
        row = rows.setdefault(dept, DepartmentTotals(dept, names.get(dept, "")))
        requested = yuan(line.get("requested"))
        row.lines += 1
        row.requested += requested
        row.recommended += yuan(line.get("recommended"))
        row.reclaimed += yuan(line.get("reclaimed"))
        status = line.get("status")
        if status == "cancelled":
            row.cancelled += requested
        elif status == "excluded":
            row.excluded += requested
        else:
            row.cut += max(requested - yuan(line.get("after_policies")), ZERO)
    return sorted(rows.values(), key=lambda r: r.department_id)


def by_action(result: Mapping[str, Any], labels: Callable[[object], str]) -> list[GroupTotals]:
    """Applied explanations per action: how many lines and the sum of their effects."""
    groups: dict[str, GroupTotals] = {}
    for line in result.get("lines") or []:
        for exp in line.get("explanations") or []:
            if exp.get("outcome") != "applied":
                continue
            action = str(exp.get("action"))
            group = groups.setdefault(action, GroupTotals(labels(action)))
            group.lines += 1
            group.amount += yuan(exp.get("effect"))
    return list(groups.values())


def by_tier(result: Mapping[str, Any], labels: Mapping[int, str]) -> list[GroupTotals]:
    groups: dict[Any, GroupTotals] = {}
    for line in result.get("lines") or []:
        tier = line.get("tier")
        label = "未排档（不予纳入或取消）" if tier is None else labels.get(int(tier), f"第{tier}档")
        group = groups.setdefault(tier if tier is not None else 99, GroupTotals(label))
        group.lines += 1
        group.amount += yuan(line.get("recommended"))
    return [groups[key] for key in sorted(groups)]


def protected_lines(result: Mapping[str, Any], request: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
    """Lines of protected spending: a ``protect`` explanation, or a protection other than none in the request."""
    protected_ids = {
        str(p.get("project_id"))
        for p in (request or {}).get("projects") or []
        if p.get("protection") not in (None, "", "none")
    }
    out = []
    for line in result.get("lines") or []:
        actions = {exp.get("action") for exp in line.get("explanations") or [] if exp.get("outcome") == "applied"}
        if "protect" in actions or str(line.get("project_id")) in protected_ids:
            out.append(line)
    return out


def sum_lines(lines: Sequence[Mapping[str, Any]], key: str) -> Decimal:
    return sum((yuan(line.get(key)) for line in lines), ZERO)
