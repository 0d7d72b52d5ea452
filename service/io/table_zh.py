"""The CLI table (终端表格) in the bureau's words: 元 with thousands separators, department names,
Chinese status and flag words, a short reason, the envelope and how the unspent money splits.

At 110 columns or more it is one table; narrower (an 80-column terminal) each line becomes a small
block of wrapped text, so no column is ever dropped or cut. Nothing here computes budget numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from service.report.pdf import pool_note
from service.report.words import ACTION_ZH, STATUS_ZH, action_zh, flags_zh, tier_zh, yuan

WIDE = 110
"""Narrower consoles get the stacked layout."""


def money(value: object) -> str:
    """1,234,567.89元; an empty value as a dash."""
    if value is None or value == "":
        return "—"
    return f"{yuan(value):,.2f}元"


def short_reason(line: Mapping[str, Any]) -> str:
    """The applied actions in GLOSSARY words, e.g. ``压减、收回统筹``; ``—`` when none changed the line."""
    words = []
    for exp in line.get("explanations") or []:
        if exp.get("outcome") != "applied":
            continue
        action = str(exp.get("action"))
        if yuan(exp.get("effect")) != 0 or action in ("exclude", "cancel", "protect"):
            known = all(part in ACTION_ZH for part in action.split("+"))
            words.append(action_zh(action) if known else str(exp.get("policy")))
    return "、".join(dict.fromkeys(words)) or "—"


def _names(result: Mapping[str, Any]) -> dict[str, str]:
    rows = (result.get("summary") or {}).get("departments") or []
    return {str(row.get("department_id")): str(row.get("name")) for row in rows if row.get("name")}


def _department(line: Mapping[str, Any], names: Mapping[str, str]) -> str:
    code = str(line.get("department_id") or "")
    name = names.get(code)
    return f"{name}（{code}）" if name else code


def _flags(line: Mapping[str, Any]) -> str:
    return "、".join(flags_zh(line)) or "—"


def render_lines(result: Mapping[str, Any], console: Console) -> None:
    lines: Sequence[Mapping[str, Any]] = result.get("lines") or []
    names = _names(result)
    if console.width >= WIDE:
        console.print(_wide_table(lines, names))
        return
    for line in lines:
        block = Text()
        block.append(f"{line.get('project_id')}  ", style="bold")
        block.append(f"{line.get('name')} · {_department(line, names)}\n")
        block.append(
            f"  申报数 {money(line.get('requested'))} → 政策调整后 {money(line.get('after_policies'))}"
            f" → 建议数 {money(line.get('recommended'))}\n"
        )
        block.append(
            f"  {STATUS_ZH.get(str(line.get('status')), str(line.get('status')))} · {tier_zh(line.get('tier'))}"
            f" · 标记：{_flags(line)} · 理由：{short_reason(line)}"
        )
        console.print(block)


def _wide_table(lines: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("项目编码", no_wrap=True, overflow="fold")
    table.add_column("项目名称", overflow="fold", min_width=8)
    table.add_column("单位", overflow="fold", min_width=6)
    for title in ("申报数", "政策调整后", "建议数"):
        table.add_column(title, justify="right", no_wrap=True, overflow="fold")
    table.add_column("状态", overflow="fold", min_width=4)
    table.add_column("档次", overflow="fold", min_width=4)
    table.add_column("标记", overflow="fold", min_width=4)
    table.add_column("理由", overflow="fold", min_width=4)
    for line in lines:
        table.add_row(
            *(
                Text(str(cell))
                for cell in (
                    line.get("project_id"),
                    line.get("name"),
                    _department(line, names),
                    money(line.get("requested")),
                    money(line.get("after_policies")),
                    money(line.get("recommended")),
                    STATUS_ZH.get(str(line.get("status")), str(line.get("status"))),
                    "—" if line.get("tier") is None else f"第{line.get('tier')}档",
                    _flags(line),
                    short_reason(line),
                )
            )
        )
    return table


def render_summary(result: Mapping[str, Any], console: Console) -> None:
    """Totals, the envelope and how the unspent money (未安排财力) splits, counts, and the pool note."""
    summary = result.get("summary") or {}
    totals = summary.get("totals") or {}
    counts = summary.get("counts") or {}
    table = Table(title="汇总", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("项目")
    table.add_column("金额", justify="right", no_wrap=True)
    rows = []
    if result.get("envelope") not in (None, ""):
        rows.append(("财力可安排数", result.get("envelope")))
    labels = (
        ("requested", "申报数合计"),
        ("after_policies", "政策调整后合计"),
        ("cut", "核减合计"),
        ("recommended", "建议数合计"),
        ("allocated_from_pool", "  其中：收回统筹资金安排"),
        ("reclaimed", "收回统筹资金"),
        ("reserve", "未安排财力合计"),
        ("reserve_envelope", "  其中：财力可安排数未安排"),
        ("reserve_pool", "        收回统筹资金未安排"),
    )
    rows += [(label, totals[key]) for key, label in labels if key in totals]
    for label, value in rows:
        table.add_row(Text(label), Text(money(value)))
    console.print(table)
    words = [f"{STATUS_ZH.get(key, key)} {value} 项" for key, value in counts.items()]
    if words:
        console.print(Text("项目数：" + " · ".join(words)))
    note = pool_note(result)
    if note:
        console.print(Text(note))
    elif result.get("envelope") not in (None, "") and yuan(totals.get("recommended")) <= yuan(result["envelope"]):
        unspent = yuan(result["envelope"]) - yuan(totals.get("recommended")) + Decimal(0)
        if unspent > 0:
            console.print(Text(f"建议数合计未超过财力可安排数，尚有 {unspent:,.2f}元 未安排。"))
