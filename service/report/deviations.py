"""偏离建议: one row per line whose final amount (定稿) differs from the recommendation (建议数).

Budget drafts (编制方案) produce these rows; the xlsx export (sheet 偏离建议) and the 编制说明 PDF
render them. This module only defines the shape, so both sides agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class DeviationRow:
    """A line adjusted by hand away from the recommendation (人工调整), with who, when and why."""

    project_id: str
    project_name: str
    department_id: str
    department_name: str
    recommended: Decimal  # 建议数, 元
    final: Decimal  # 定稿数, 元
    difference: Decimal  # final - recommended, 元
    reason: str  # 调整理由
    adjusted_by: str  # 调整人
    adjusted_at: str  # 调整时间 (ISO 8601 or already in Beijing time)
    policies: list[str] = field(default_factory=list)  # policy ids the adjustment departs from
