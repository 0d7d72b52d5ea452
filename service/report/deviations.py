"""偏离建议: one row per line whose final amount (定稿数) differs from the recommendation (建议数).

Budget drafts (编制方案, :mod:`service.app.drafts`) produce these rows; the pages, the API, the xlsx
export (sheet 偏离建议) and the 编制说明 PDF render them. This module holds the one shape all of them
share and the totals, and imports no database code, so the writers stay free of storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

ZERO = Decimal("0.00")
BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class DeviationRow:
    """One line of the deviation report (偏离建议清单): a final amount that differs from the recommendation.

    Money is Decimal (two decimals, 元); ``difference`` = final − recommended (negative: cut below the
    recommendation); ``adjusted_at`` is aware UTC; ``policies`` are the Chinese titles of the policies
    behind the recommendation (``policy_ids`` the same, as ids).
    """

    project_id: str
    project_name: str
    department_id: str
    department_name: str
    recommended: Decimal
    final: Decimal
    difference: Decimal
    reason: str
    adjusted_by: str
    adjusted_at: datetime
    policies: tuple[str, ...]
    policy_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DepartmentDeviation:
    department_id: str
    department_name: str
    lines: int
    up: Decimal
    down: Decimal
    net: Decimal


@dataclass(frozen=True, slots=True)
class DeviationTotals:
    """Totals of a deviation report: up (sum of raises), down (sum of cuts, as a positive amount), net."""

    lines: int
    up: Decimal
    down: Decimal
    net: Decimal
    departments: tuple[DepartmentDeviation, ...] = ()


@dataclass(frozen=True, slots=True)
class DraftHeading:
    """What an export of a draft says about the draft: which figures are final, and whether it is 定稿."""

    draft_id: str
    name: str
    version: int
    state_words: str  # 编制中 / 待审核 / 已退回 / 定稿
    is_final: bool
    recommended_total: Decimal
    final_total: Decimal
    approved_by: str | None = None
    approved_at: datetime | None = None

    @property
    def status_text(self) -> str:
        """``定稿`` with who approved it and when, or a plain warning that the figures are not final yet."""
        if self.is_final:
            who = f"，{self.approved_by} 于 {beijing_text(self.approved_at)} 审核通过" if self.approved_by else ""
            return f"定稿{who}"
        return f"{self.state_words}（尚未定稿，定稿数仍可能调整）"


def deviation_totals(rows: Sequence[DeviationRow]) -> DeviationTotals:
    """Totals up and down, overall and by department (in the order departments first appear)."""
    by_department: dict[str, list[DeviationRow]] = {}
    for row in rows:
        by_department.setdefault(row.department_id, []).append(row)

    def sums(members: Sequence[DeviationRow]) -> tuple[Decimal, Decimal]:
        up = sum((r.difference for r in members if r.difference > 0), ZERO)
        down = sum((-r.difference for r in members if r.difference < 0), ZERO)
        return up, down

    departments = []
    for department_id, members in by_department.items():
        up, down = sums(members)
        departments.append(
            DepartmentDeviation(department_id, members[0].department_name, len(members), up, down, up - down)
        )
    up, down = sums(rows)
    return DeviationTotals(len(rows), up, down, up - down, tuple(departments))


def beijing_text(value: datetime | None) -> str:
    """``2026-11-29 22:05`` in Beijing time (naive values are taken as UTC); empty for none."""
    if value is None or value == datetime.min:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
