"""Writers: turn a result dict (CONTRACT.md) into json, a Rich table, csv or an .xlsx workbook.

输出建议结果。The input is the JSON-ready result: money as strings with two decimals, ``tier`` an int
or ``None``; every line also has ``name`` and ``kind``. Nothing here computes budget numbers: money
is written exactly as the strings it is given (as ``Decimal`` cells in a workbook, never float).

Spreadsheet safety: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is prefixed with ``'`` so Excel shows it as text instead of running it as a formula; a cell
that is a plain decimal number such as ``-80000.00`` is left as it is.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from service.io import RESULT_FORMATS
from service.io.workbook import write_exact_decimals

FORMATS = RESULT_FORMATS

TABLE_FILE_WIDTH = 120
"""Width of the plain-text table written to a file."""

MONEY_FORMAT = "#,##0.00"

LINE_MONEY_KEYS = ("requested", "after_policies", "recommended", "allocated_from_pool", "reclaimed")

LINE_COLUMNS = (
    "project_id",
    "department_id",
    "name",
    "kind",
    *LINE_MONEY_KEYS,
    "status",
    "tier",
    "flags",
    "reasons_zh",
    "reasons_en",
    "citations",
)
"""Columns of the csv output and of the ``lines`` sheet."""

EXPLANATION_COLUMNS = (
    "project_id",
    "policy",
    "rule",
    "outcome",
    "action",
    "effect",
    "reason_zh",
    "reason_en",
    "citation",
    "superseded_by",
)

STATUS_LABELS = {
    "excluded": "已排除",
    "cancelled": "已取消",
    "reduced": "已核减",
    "funded": "全额安排",
}

TOTAL_LABELS = {
    "requested": "申报数合计 requested",
    "after_policies": "政策后合计 after policies",
    "recommended": "建议数合计 recommended",
    "cut": "核减 cut",
    "reclaimed": "收回统筹 reclaimed",
    "allocated_from_pool": "统筹安排 allocated from pool",
    "reserve_envelope": "财力预留 reserve (envelope)",
    "reserve_pool": "统筹资金预留 reserve (pool)",
    "reserve": "预留合计 reserve",
}

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_DECIMAL = re.compile(r"[+-]?\d+(\.\d+)?")
_MAX_COLUMN_WIDTH = 60


def write_result(
    result: Mapping[str, Any],
    fmt: str,
    output: Path | None,
    *,
    console: Console | None = None,
) -> None:
    """Write ``result`` as ``fmt`` (one of :data:`FORMATS`) to ``output``, or to stdout/console.

    Raises ``ValueError`` for an unknown format, or for ``xlsx`` without an output file.
    """
    if fmt == "json":
        _emit_text(render_json(result), output)
    elif fmt == "csv":
        _emit_text(render_csv(result), output, bom=True)
    elif fmt == "table":
        _write_table(result, output, console)
    elif fmt == "xlsx":
        if output is None:
            raise ValueError("the xlsx format needs an output file: pass --output FILE.xlsx")
        build_workbook(result).save(output)
    else:
        raise ValueError(f"unknown output format {fmt!r}: choose one of {', '.join(FORMATS)}")


def _emit_text(text: str, output: Path | None, *, bom: bool = False) -> None:
    """Write UTF-8 text to a file, or to stdout as UTF-8 whatever the locale."""
    data = ("\ufeff" if bom else "") + text
    if output is not None:
        with Path(output).open("w", encoding="utf-8", newline="") as fh:
            fh.write(data)
        return
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(data)
        return
    sys.stdout.flush()
    buffer.write(data.encode("utf-8"))
    buffer.flush()


# --- json -------------------------------------------------------------------------------------


def render_json(result: Mapping[str, Any]) -> str:
    """The result as indented JSON text with a final newline (Chinese kept readable)."""
    return json.dumps(result, ensure_ascii=False, indent=2, default=_json_default) + "\n"


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# --- table ------------------------------------------------------------------------------------


def _write_table(result: Mapping[str, Any], output: Path | None, console: Console | None) -> None:
    if output is None:
        # Piped output has no terminal width: use the same width as a table written to a file.
        width = None if sys.stdout.isatty() else TABLE_FILE_WIDTH
        render_table(result, console or Console(highlight=False, width=width))
        return
    with Path(output).open("w", encoding="utf-8") as fh:
        file_console = Console(
            file=fh,
            width=TABLE_FILE_WIDTH,
            color_system=None,
            force_terminal=False,
            highlight=False,
            emoji=False,
            legacy_windows=False,
        )
        render_table(result, file_console)


def render_table(result: Mapping[str, Any], console: Console) -> None:
    """Print the heading, one row per line, then the totals and counts to ``console``."""
    from service.io.table_zh import render_lines, render_summary

    console.print(Text(_heading(result)))
    render_lines(result, console)
    render_summary(result, console)


def _heading(result: Mapping[str, Any]) -> str:
    ruleset = result.get("ruleset") or {}
    parts = [
        f"{result.get('fiscal_year', '?')}年度测算结果",
        f"规则集 {ruleset.get('id', '?')}",
        f"版本 {ruleset.get('revision', '?')}",
        f"校验值 {ruleset.get('digest', '?')}",
    ]
    if result.get("decision_id"):
        parts.append(f"测算编号 {result['decision_id']}")
    return " · ".join(parts)


def _lines_table(lines: Sequence[Mapping[str, Any]]) -> Table:
    # Ids, money and tier are kept on one line; names, departments, status and flags wrap so the
    # table fits 120 columns. Only on a very narrow console do ids or money fold, never truncated.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("项目编号\nID", no_wrap=True, overflow="fold")
    table.add_column("项目名称\nName", overflow="fold", min_width=8)
    table.add_column("部门\nDept", overflow="fold")
    for title in ("申报数\nrequested", "政策后\nafter\npolicies", "建议数\nrecommended"):
        table.add_column(title, justify="right", no_wrap=True, overflow="fold")
    table.add_column("状态\nstatus", overflow="fold", min_width=9)
    table.add_column("档次\ntier", justify="right", no_wrap=True, overflow="fold")
    table.add_column("标记\nflags", overflow="fold")
    for line in lines:
        table.add_row(*(Text(cell) for cell in _table_cells(line)))
    return table


def _table_cells(line: Mapping[str, Any]) -> list[str]:
    return [
        _text(line.get("project_id")),
        _text(line.get("name")),
        _text(line.get("department_id")),
        _text(line.get("requested")),
        _text(line.get("after_policies")),
        _text(line.get("recommended")),
        status_label(line.get("status")),
        "—" if line.get("tier") is None else _text(line.get("tier")),
        ", ".join(flag_codes(line)),
    ]


def _summary_table(totals: Mapping[str, Any], counts: Mapping[str, Any]) -> Table:
    table = Table(title="汇总 Summary", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("项目 item")
    table.add_column("金额/数量 value", justify="right", no_wrap=True)
    for key, value in totals.items():
        table.add_row(Text(TOTAL_LABELS.get(key, key)), Text(_text(value)))
    for key, value in counts.items():
        table.add_row(Text(f"{status_label(key)} (count)"), Text(_text(value)))
    return table


def status_label(status: object) -> str:
    """``"已核减 reduced"`` for ``"reduced"``; an unknown code is shown as it is."""
    code = _text(status)
    label = STATUS_LABELS.get(code)
    return f"{label} {code}" if label else code


def flag_codes(line: Mapping[str, Any]) -> list[str]:
    """The flag codes of a line, in order."""
    return [_text(flag.get("code")) if isinstance(flag, Mapping) else _text(flag) for flag in line.get("flags") or []]


def _text(value: object) -> str:
    return "" if value is None else str(value)


# --- csv --------------------------------------------------------------------------------------


def line_row(line: Mapping[str, Any]) -> list[Any]:
    """The :data:`LINE_COLUMNS` values of one line (money kept as the result's strings)."""
    explanations = [e for e in line.get("explanations") or [] if isinstance(e, Mapping)]
    return [
        line.get("project_id"),
        line.get("department_id"),
        line.get("name"),
        line.get("kind"),
        *(line.get(key) for key in LINE_MONEY_KEYS),
        line.get("status"),
        line.get("tier"),
        ";".join(flag_codes(line)),
        " | ".join(_reason(e, "zh") for e in explanations),
        " | ".join(_reason(e, "en") for e in explanations),
        " | ".join(_unique(_text(e.get("citation")) for e in explanations if e.get("citation"))),
    ]


def _reason(explanation: Mapping[str, Any], language: str) -> str:
    reason = explanation.get("reason") or {}
    return _text(reason.get(language)) if isinstance(reason, Mapping) else _text(reason)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def render_csv(result: Mapping[str, Any]) -> str:
    """The lines as CSV text (no BOM: :func:`write_result` adds it), with the formula guard."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(LINE_COLUMNS)
    for line in result.get("lines") or []:
        writer.writerow([guard_text(_text(value)) for value in line_row(line)])
    return buffer.getvalue()


def guard_text(value: str) -> str:
    """Prefix ``'`` to text Excel would run as a formula; plain decimal numbers pass unchanged."""
    if value.startswith(_FORMULA_STARTS) and not _PLAIN_DECIMAL.fullmatch(value):
        return "'" + value
    return value


# --- xlsx -------------------------------------------------------------------------------------


def build_workbook(result: Mapping[str, Any]) -> Any:
    """An openpyxl workbook with sheets ``lines``, ``explanations``, ``summary``, ``departments``."""
    workbook = Workbook()
    lines = result.get("lines") or []
    summary = result.get("summary") or {}
    _fill_sheet(workbook.active, "lines", LINE_COLUMNS, (line_row(line) for line in lines), money=set(LINE_MONEY_KEYS))
    _fill_sheet(
        workbook.create_sheet(),
        "explanations",
        EXPLANATION_COLUMNS,
        _explanation_rows(lines),
        money={"effect"},
    )
    _fill_sheet(workbook.create_sheet(), "summary", ("item", "label", "value"), _summary_rows(summary), money=set())
    department_rows = summary.get("departments") or []
    total_keys, count_keys = _department_keys(department_rows)
    _fill_sheet(
        workbook.create_sheet(),
        "departments",
        ("department_id", *total_keys, *count_keys),
        _department_rows(department_rows, total_keys, count_keys),
        money=set(total_keys),
    )
    write_exact_decimals(workbook)
    return workbook


def _explanation_rows(lines: Iterable[Mapping[str, Any]]) -> Iterable[list[Any]]:
    for line in lines:
        for exp in line.get("explanations") or []:
            yield [
                line.get("project_id"),
                exp.get("policy"),
                exp.get("rule"),
                exp.get("outcome"),
                exp.get("action"),
                exp.get("effect"),
                _reason(exp, "zh"),
                _reason(exp, "en"),
                exp.get("citation"),
                exp.get("superseded_by"),
            ]


def _summary_rows(summary: Mapping[str, Any]) -> Iterable[list[Any]]:
    """Rows ``(item, label, value)``: totals as money cells, then counts as integers."""
    for key, value in (summary.get("totals") or {}).items():
        yield [key, TOTAL_LABELS.get(key, key), _money_cell(value)]
    for key, value in (summary.get("counts") or {}).items():
        yield [f"count_{key}", f"{status_label(key)} (count)", value]


def _department_keys(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    totals = _unique(key for row in rows for key in (row.get("totals") or {}))
    counts = _unique(key for row in rows for key in (row.get("counts") or {}))
    return totals, [f"count_{key}" for key in counts]


def _department_rows(
    rows: Sequence[Mapping[str, Any]], total_keys: Sequence[str], count_keys: Sequence[str]
) -> Iterable[list[Any]]:
    for row in rows:
        totals = row.get("totals") or {}
        counts = row.get("counts") or {}
        yield [
            row.get("department_id"),
            *(totals.get(key) for key in total_keys),
            *(counts.get(key.removeprefix("count_")) for key in count_keys),
        ]


def _fill_sheet(
    sheet: Any,
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    money: set[str],
) -> None:
    """Write a header and rows; money columns as Decimal cells, text through the formula guard."""
    sheet.title = title
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    money_positions = {position for position, name in enumerate(columns) if name in money}
    for row in rows:
        sheet.append(
            [
                _money_cell(value) if position in money_positions else _plain_cell(value)
                for position, value in enumerate(row)
            ]
        )
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, Decimal):
                cell.number_format = MONEY_FORMAT
    sheet.freeze_panes = "A2"
    _fit_columns(sheet, len(columns))


def _money_cell(value: object) -> Any:
    """A money string as an exact ``Decimal`` cell; anything else falls back to a guarded text cell."""
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return guard_text(value)
        return number if number.is_finite() else guard_text(value)
    return _plain_cell(value)


def _plain_cell(value: object) -> Any:
    """Ints and bools as they are, ``None`` as empty, everything else as guarded text."""
    if value is None or isinstance(value, bool | int | Decimal):
        return value
    # control characters are not allowed in xlsx XML: openpyxl would refuse the whole workbook
    return guard_text(ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value)))


def _fit_columns(sheet: Any, count: int) -> None:
    """Set each column wide enough for its content (CJK counted double), capped for long text."""
    for position in range(1, count + 1):
        widest = 0
        for (cell,) in sheet.iter_rows(min_col=position, max_col=position):
            widest = max(widest, _display_width(cell.value))
        width = min(max(widest + 2, 8), _MAX_COLUMN_WIDTH)
        sheet.column_dimensions[get_column_letter(position)].width = width


def _display_width(value: object) -> int:
    if value is None:
        return 0
    text = f"{value:,.2f}" if isinstance(value, Decimal) else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
