"""The Chinese xlsx export (测算结果工作簿): sheets a bureau prints and files, and that read back.

Sheets 汇总, 项目明细, 部门汇总, 解释与依据 (and 偏离建议 when a draft's deviations are given), with
the words of GLOSSARY.md, department names beside codes, a 合计 row, an autofilter and a print
set-up (A4 landscape, fit to width, the header row repeated on every page, title and page numbers in
the page header and footer). Amounts are numbers (exact ``Decimal`` cells) formatted ``#,##0.00``, in
元 or 万元.

When the request is given, the workbook also holds the request itself in the import template's
sheets 参数, 部门 and 项目, so that ``budget-rules recommend`` reads the export back to the same result.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.properties import PageSetupProperties  # type: ignore[import-untyped]

from service.io.workbook import (
    DEPARTMENT_COLUMNS,
    PARAMETER_COLUMNS,
    PROJECT_COLUMNS,
    UNITS,
    WAN,
    YUAN,
    Column,
    write_exact_decimals,
)
from service.io.writers import guard_text
from service.report.deviations import DeviationRow, DraftHeading, beijing_text, deviation_totals
from service.report.summary import by_department, department_names
from service.report.words import (
    KIND_ZH,
    OUTCOME_ZH,
    STATUS_ZH,
    action_zh,
    flags_zh,
    full_citation,
    ruleset_sources,
    yuan,
)

MONEY_FORMAT_YUAN = "#,##0.00"
MONEY_FORMAT_WAN = "#,##0.0000##"
"""万元 shows four decimals (GLOSSARY.md) and up to six, so the exact value is never hidden."""

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_TOTAL_FONT = Font(bold=True)


def build_budget_workbook(
    result: Mapping[str, Any],
    *,
    request: Mapping[str, Any] | None = None,
    unit: str = YUAN,
    deviations: Sequence[DeviationRow] | None = None,
    sources: Mapping[str, str] | None = None,
    draft: DraftHeading | None = None,
) -> Any:
    """The Chinese workbook of ``result``; ``request`` (JSON form) adds the 参数/部门/项目 sheets.

    With ``draft`` (a budget draft's heading), 汇总 says which figures are the recommendation and
    which the final amounts and whether the draft is 定稿, and sheet 偏离建议 is always written.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be 元 or 万元, not {unit!r}")
    ruleset = result.get("ruleset") or {}
    sources = sources if sources is not None else ruleset_sources(ruleset.get("id"))
    names = department_names(result, request)
    year = result.get("fiscal_year", "")
    book = _Book(unit, f"{year}年度项目预算测算结果")
    book.summary(result, draft)
    book.lines(result, names)
    book.departments(result, names)
    book.explanations(result, sources)
    if deviations or draft is not None:
        book.deviations(deviations or [], draft)
    if request is not None:
        book.request(request)
    write_exact_decimals(book.workbook)
    return book.workbook


class _Book:
    def __init__(self, unit: str, title: str) -> None:
        self.workbook = Workbook()
        self.unit = unit
        self.title = title
        self._first = True

    # --- helpers --------------------------------------------------------------------------------

    def money(self, value: object) -> Decimal | None:
        if value is None or value == "":
            return None
        amount = yuan(value)
        return amount if self.unit == YUAN else (amount / WAN)

    @property
    def money_title(self) -> str:
        return f"（{self.unit}）"

    def sheet(self, title: str) -> Any:
        if self._first:
            sheet = self.workbook.active
            sheet.title = title
            self._first = False
        else:
            sheet = self.workbook.create_sheet(title)
        return sheet

    def table(
        self,
        title: str,
        headers: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        money: set[int],
        total: Sequence[Any] | None = None,
        widths: Mapping[int, int] | None = None,
    ) -> Any:
        """One printable table: header row 1 (repeated on each page), data, optional 合计 row."""
        sheet = self.sheet(title)
        sheet.append(list(headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = _HEADER_FILL
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        count = 0
        for row in rows:
            sheet.append([_cell(value) for value in row])
            count += 1
        last_data = count + 1
        if total is not None:
            sheet.append([_cell(value) for value in total])
            for cell in sheet[sheet.max_row]:
                cell.font = _TOTAL_FONT
        fmt = MONEY_FORMAT_YUAN if self.unit == YUAN else MONEY_FORMAT_WAN
        for row_cells in sheet.iter_rows(min_row=2):
            for cell in row_cells:
                if cell.column - 1 in money:
                    cell.number_format = fmt
                    cell.alignment = Alignment(vertical="top")
                elif isinstance(cell.value, str) and len(cell.value) > 12:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                else:
                    cell.alignment = Alignment(vertical="top")
        column_widths = [(widths or {}).get(i) or (16 if i in money else 14) for i in range(len(headers))]
        _fit_row_heights(sheet, column_widths)
        last_column = get_column_letter(len(headers))
        sheet.auto_filter.ref = f"A1:{last_column}{max(last_data, 1)}"
        sheet.freeze_panes = "A2"
        for position, width in enumerate(column_widths, start=1):
            sheet.column_dimensions[get_column_letter(position)].width = width
        self.print_setup(sheet, title)
        return sheet

    def print_setup(self, sheet: Any, title: str) -> None:
        """A4 landscape, fit to one page wide, header row on every page, title and 第 N 页 共 M 页."""
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        sheet.print_title_rows = "1:1"
        sheet.print_options.gridLines = True
        sheet.oddHeader.center.text = f"{self.title} · {title}"
        sheet.oddHeader.center.size = 12
        sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
        sheet.oddFooter.right.text = f"金额单位：{self.unit}"

    # --- sheets ---------------------------------------------------------------------------------

    def summary(self, result: Mapping[str, Any], draft: DraftHeading | None = None) -> None:
        totals = (result.get("summary") or {}).get("totals") or {}
        counts = (result.get("summary") or {}).get("counts") or {}
        ruleset = result.get("ruleset") or {}
        rows: list[list[Any]] = [
            ["预算年度", str(result.get("fiscal_year", "")), None],
            ["规则集", str(ruleset.get("id", "")), None],
            ["版本", str(ruleset.get("revision", "")), None],
            ["校验值", str(ruleset.get("digest", "")), None],
            ["测算编号", str(result.get("decision_id") or ""), None],
            ["财力可安排数", None, self.money(result.get("envelope"))],
        ]
        if draft is not None:
            rows += [
                ["编制方案", f"{draft.name}（第{draft.version}版，{draft.draft_id}）", None],
                ["方案状态", draft.status_text, None],
                ["建议数合计（规则测算）", None, self.money(draft.recommended_total)],
                ["定稿数合计（编制方案）", None, self.money(draft.final_total)],
                ["定稿数与建议数差额", None, self.money(draft.final_total - draft.recommended_total)],
                [
                    "金额口径",
                    "本工作簿“项目明细”“部门汇总”“解释与依据”中的金额均为规则测算的建议数；"
                    "编制人员调整后的定稿数见“偏离建议”工作表" + ("。" if draft.is_final else "（方案尚未定稿）。"),
                    None,
                ],
            ]
        labels = {
            "requested": "申报数合计",
            "after_policies": "政策调整后合计",
            "recommended": "建议数合计",
            "cut": "核减合计",
            "reclaimed": "收回统筹资金",
            "allocated_from_pool": "收回统筹资金安排",
            "reserve_envelope": "未安排财力（财力可安排数）",
            "reserve_pool": "未安排财力（收回统筹资金）",
            "reserve": "未安排财力合计",
        }
        for key, value in totals.items():
            rows.append([labels.get(key, key), None, self.money(value)])
        for key, value in counts.items():
            rows.append([f"{STATUS_ZH.get(key, key)}（项）", str(value), None])
        self.table(
            "汇总",
            ["项目", "内容", f"金额{self.money_title}"],
            rows,
            money={2},
            widths={0: 30, 1: 44, 2: 22},
        )

    def lines(self, result: Mapping[str, Any], names: Mapping[str, str]) -> None:
        lines = list(result.get("lines") or [])
        money_keys = ("requested", "after_policies", "recommended", "allocated_from_pool", "reclaimed")
        rows = []
        for line in lines:
            reasons = [
                str((exp.get("reason") or {}).get("zh") or "")
                for exp in line.get("explanations") or []
                if exp.get("outcome") == "applied"
            ]
            rows.append(
                [
                    line.get("project_id"),
                    line.get("name"),
                    line.get("department_id"),
                    names.get(str(line.get("department_id")), ""),
                    KIND_ZH.get(str(line.get("kind")), line.get("kind")),
                    *(self.money(line.get(key)) for key in money_keys),
                    STATUS_ZH.get(str(line.get("status")), line.get("status")),
                    "—" if line.get("tier") is None else f"第{line.get('tier')}档",
                    "、".join(flags_zh(line)),
                    "；".join(r for r in reasons if r),
                ]
            )
        total: list[Any] = ["合计", f"{len(lines)}项", None, None, None]
        total += [self.money(sum((yuan(line.get(key)) for line in lines), Decimal("0.00"))) for key in money_keys]
        total += [None, None, None, None]
        m = self.money_title
        self.table(
            "项目明细",
            [
                "项目编码",
                "项目名称",
                "单位编码",
                "单位名称",
                "支出类型",
                f"申报数{m}",
                f"政策调整后{m}",
                f"建议数{m}",
                f"收回统筹资金安排{m}",
                f"收回统筹{m}",
                "状态",
                "保障档次",
                "标记",
                "主要理由",
            ],
            rows,
            money={5, 6, 7, 8, 9},
            total=total,
            widths={1: 22, 3: 16, 4: 10, 10: 9, 11: 8, 12: 14, 13: 40},
        )

    def departments(self, result: Mapping[str, Any], names: Mapping[str, str]) -> None:
        rows = by_department(result, names)
        amounts = ("requested", "cut", "cancelled", "excluded", "reclaimed", "recommended")
        body = [
            [r.department_id, r.name, r.lines, *(self.money(getattr(r, key)) for key in amounts), self.money(r.change)]
            for r in rows
        ]
        total: list[Any] = ["合计", f"{len(rows)}个单位", sum(r.lines for r in rows)]
        total += [self.money(sum((getattr(r, key) for r in rows), Decimal("0.00"))) for key in amounts]
        total += [self.money(sum((r.change for r in rows), Decimal("0.00")))]
        m = self.money_title
        self.table(
            "部门汇总",
            [
                "单位编码",
                "单位名称",
                "项目数",
                f"申报数{m}",
                f"核减{m}",
                f"取消{m}",
                f"不予纳入{m}",
                f"收回统筹{m}",
                f"建议数{m}",
                f"增减{m}",
            ],
            body,
            money={3, 4, 5, 6, 7, 8, 9},
            total=total,
            widths={1: 26},
        )

    def explanations(self, result: Mapping[str, Any], sources: Mapping[str, str]) -> None:
        rows = []
        for line in result.get("lines") or []:
            for exp in line.get("explanations") or []:
                rows.append(
                    [
                        line.get("project_id"),
                        line.get("name"),
                        exp.get("policy"),
                        OUTCOME_ZH.get(str(exp.get("outcome")), exp.get("outcome")),
                        action_zh(exp.get("action")),
                        self.money(exp.get("effect")),
                        (exp.get("reason") or {}).get("zh"),
                        full_citation(exp.get("citation"), sources),
                    ]
                )
        self.table(
            "解释与依据",
            ["项目编码", "项目名称", "政策", "结果", "措施", f"影响金额{self.money_title}", "理由", "依据"],
            rows,
            money={5},
            widths={1: 24, 2: 22, 6: 60, 7: 60},
        )

    def deviations(self, deviations: Sequence[DeviationRow], draft: DraftHeading | None = None) -> None:
        rows = [
            [
                d.project_id,
                d.project_name,
                d.department_id,
                d.department_name,
                self.money(d.recommended),
                self.money(d.final),
                self.money(d.difference),
                d.reason,
                d.adjusted_by,
                beijing_text(d.adjusted_at),
                "、".join(d.policies),
            ]
            for d in deviations
        ]
        total: list[Any] = ["合计", f"{len(rows)}项", None, None]
        for key in ("recommended", "final", "difference"):
            total.append(self.money(sum((getattr(d, key) for d in deviations), Decimal("0.00"))))
        total += [None, None, None, None]
        m = self.money_title
        sheet = self.table(
            "偏离建议",
            [
                "项目编码",
                "项目名称",
                "单位编码",
                "单位名称",
                f"建议数（规则测算）{m}",
                f"定稿数（编制方案）{m}",
                f"差额{m}",
                "调整理由",
                "调整人",
                "调整时间（北京时间）",
                "建议依据的政策",
            ],
            rows,
            money={4, 5, 6},
            total=total,
            widths={1: 26, 3: 22, 4: 18, 5: 18, 7: 40, 9: 18, 10: 28},
        )
        totals = deviation_totals(deviations)
        extra: list[list[Any]] = [
            ["其中：调增合计", None, None, None, None, None, self.money(totals.up)],
            ["其中：调减合计", None, None, None, None, None, self.money(-totals.down)],
        ]
        for d in totals.departments:
            extra.append(
                [
                    "单位小计",
                    f"{d.lines}项",
                    d.department_id,
                    d.department_name,
                    None,
                    None,
                    self.money(d.net),
                    f"调增 {self.money(d.up):,}{self.unit}，调减 {self.money(d.down):,}{self.unit}",
                ]
            )
        if draft is not None:
            extra.append([f"编制方案：{draft.name}（第{draft.version}版）　状态：{draft.status_text}"])
        if not deviations:
            extra.append(["本编制方案的定稿数与建议数一致，没有偏离建议的调整。"])
        fmt = MONEY_FORMAT_YUAN if self.unit == YUAN else MONEY_FORMAT_WAN
        for values in extra:
            sheet.append([_cell(value) for value in values])
            for cell in sheet[sheet.max_row]:
                cell.font = _TOTAL_FONT
                if cell.column - 1 in (4, 5, 6):
                    cell.number_format = fmt

    def request(self, request: Mapping[str, Any]) -> None:
        """The request in the import template's own sheets, so the export reads back to the same result."""
        parameters: list[list[Any]] = [
            ["参数", "值"],
            ["预算年度", request.get("fiscal_year")],
        ]
        if request.get("envelope") not in (None, ""):
            parameters.append([f"财力可安排数{self.money_title}", self.money(request.get("envelope"))])
        if request.get("ruleset"):
            parameters.append(["规则集", request.get("ruleset")])
        sheet = self.sheet("参数")
        for row in parameters:
            sheet.append([_cell(value) for value in row])
        sheet.column_dimensions["A"].width = 24
        sheet.column_dimensions["B"].width = 24
        self._records("部门", DEPARTMENT_COLUMNS, request.get("departments") or [])
        self._records("项目", PROJECT_COLUMNS, request.get("projects") or [])
        assert PARAMETER_COLUMNS  # the same table names the 参数 rows (预算年度, 财力可安排数, 规则集)

    def _records(self, title: str, columns: Sequence[Column], records: Sequence[Mapping[str, Any]]) -> None:
        used = [c for c in columns if any(record.get(c.field) not in (None, "") for record in records)]
        headers = [f"{c.title}{self.money_title}" if c.money else c.title for c in used]
        codes = [{code: word for word, code in c.words.items()} for c in used]
        rows = []
        for record in records:
            row: list[Any] = []
            for column, words in zip(used, codes, strict=True):
                value = record.get(column.field)
                if column.money:
                    row.append(self.money(value))
                elif isinstance(value, bool):
                    row.append("是" if value else "否")
                elif words and value is not None:
                    row.append(words.get(str(value), value))
                else:
                    row.append(value)
            rows.append(row)
        money = {i for i, c in enumerate(used) if c.money}
        sheet = self.table(title, headers, rows, money=money, widths={1: 24, 2: 24})
        for position, column in enumerate(used, start=1):
            if column.text:  # ids and codes stay text, never turned into numbers by Excel
                for (cell,) in sheet.iter_rows(min_row=2, min_col=position, max_col=position):
                    cell.number_format = "@"


def _fit_row_heights(sheet: Any, widths: Sequence[int]) -> None:
    """Give rows with wrapped text the height their lines need (Excel and LibreOffice do not on open)."""
    for row in sheet.iter_rows(min_row=1):
        lines = 1
        for cell, width in zip(row, widths, strict=False):
            if isinstance(cell.value, str) and cell.alignment.wrap_text:
                text_width = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in cell.value)
                lines = max(lines, -(-text_width * 11 // (10 * max(width - 2, 1))))
        if lines > 1:
            sheet.row_dimensions[row[0].row].height = 16 * min(lines, 12)


def _cell(value: object) -> Any:
    """Numbers as they are (money already Decimal), text through the formula guard."""
    if value is None or isinstance(value, bool | int | Decimal):
        return value
    return guard_text(str(value))
