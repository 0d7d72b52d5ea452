"""The import template (申报模板): a workbook a bureau fills in and ``recommend`` reads as it is.

Sheets 说明 (instructions), 参数, 部门 and 项目, with the first header name of each column of
:mod:`service.io.workbook`, amounts in 元 or 万元, drop-down lists (data validation) for every
enumeration, id and code columns formatted as text, and one example row per sheet that is itself
a valid request.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.datavalidation import DataValidation  # type: ignore[import-untyped]

from service.io.workbook import (
    DEPARTMENT_COLUMNS,
    IGNORED_TITLES,
    PROJECT_COLUMNS,
    UNITS,
    WAN,
    YUAN,
    Column,
    write_exact_decimals,
)

TEMPLATE_ROWS = 5000
"""Rows below the header that carry the drop-down lists."""

EXAMPLE_DEPARTMENT = {"department_id": "D001", "name": "县农业农村局", "kind": "部门", "overall_score": Decimal("87.5")}
EXAMPLE_PROJECT = {
    "project_id": "P001",
    "department_id": "D001",
    "name": "动物防疫补助",
    "kind": "项目支出",
    "requested": Decimal("1200000.00"),
    "prior_year_budget": Decimal("1100000.00"),
    "target_review_score": Decimal("82"),
    "evaluation_score": Decimal("85.5"),
    "idle_balance": Decimal("0.00"),
    "purpose_code": "2130104",
    "beneficiary": "养殖户",
    "urgent": "否",
}
"""保障类别 is left blank in the example (blank means 无): choose it from the list for protected lines."""

INSTRUCTIONS = (
    ("预算申报模板填写说明", ""),
    ("", ""),
    ("工作表", "参数：预算年度、财力可安排数、规则集；部门：预算部门和乡镇；项目：项目支出、公用经费、“三公”经费。"),
    ("金额", "金额列的单位写在表头括号中，如“申报数（万元）”或“申报数（元）”；元最多两位小数，万元最多六位小数。"),
    ("数字", "只填阿拉伯数字和一个小数点，不要千分位逗号、空格或全角数字，如 1234.56。"),
    ("编码", "单位编码、项目编码和功能分类科目编码按文本填写，前导0会保留。"),
    ("下拉列表", "部门类型、支出类型、是否急需、保障类别请从下拉列表中选择。"),
    ("保障类别", "三保-基本民生 / 三保-工资 / 三保-运转 / 法定支出 / 上级配套 / 无（只用于项目支出）。"),
    ("结转资金", "填写结转结余资金时，必须同时填写资金形成年度。"),
    ("示例行", "第2行是示例，请改成本单位的数据或删除。"),
    ("可忽略的列", "、".join(IGNORED_TITLES) + " 列可以保留，读取时忽略。"),
    ("列名", "其他可用的列名（别名）见 docs/workbooks.md。"),
    ("出错时", "系统会指出出错的工作表和单元格，如“项目!E3”。"),
)

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def build_template(unit: str = YUAN) -> Any:
    """The import template workbook, amounts in ``unit`` (元 or 万元)."""
    if unit not in UNITS:
        raise ValueError(f"unit must be 元 or 万元, not {unit!r}")
    book = Workbook()
    notes = book.active
    notes.title = "说明"
    for row in INSTRUCTIONS:
        notes.append(list(row))
    notes["A1"].font = Font(bold=True, size=14)
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 100
    for (cell,) in notes.iter_rows(min_col=2, max_col=2):
        cell.alignment = Alignment(wrap_text=True)

    parameters = book.create_sheet("参数")
    parameters.append(["参数", "值"])
    parameters.append(["预算年度", 2021])
    parameters.append([f"财力可安排数（{unit}）", _amount(Decimal("6000000.00"), unit)])
    parameters.append(["规则集", "wuding-county"])
    parameters.column_dimensions["A"].width = 24
    parameters.column_dimensions["B"].width = 20
    for cell in parameters[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL

    _record_sheet(book, "部门", DEPARTMENT_COLUMNS, EXAMPLE_DEPARTMENT, unit)
    _record_sheet(book, "项目", PROJECT_COLUMNS, EXAMPLE_PROJECT, unit)
    write_exact_decimals(book)
    return book


def _amount(value: Decimal, unit: str) -> Decimal:
    return value if unit == YUAN else value / WAN


def _record_sheet(book: Any, title: str, columns: tuple[Column, ...], example: dict[str, Any], unit: str) -> None:
    sheet = book.create_sheet(title)
    sheet.append([f"{c.title}（{unit}）" if c.money else c.title for c in columns])
    row = []
    for column in columns:
        value = example.get(column.field)
        row.append(_amount(value, unit) if column.money and isinstance(value, Decimal) else value)
    sheet.append(row)
    sheet.freeze_panes = "A2"
    for position, column in enumerate(columns, start=1):
        letter = get_column_letter(position)
        header = sheet.cell(row=1, column=position)
        header.font = Font(bold=True)
        header.fill = _HEADER_FILL
        header.alignment = Alignment(horizontal="center", wrap_text=True)
        sheet.column_dimensions[letter].width = max(12, 2 * len(header.value) + 2)
        cells = f"{letter}2:{letter}{TEMPLATE_ROWS + 1}"
        if column.words:
            words = [w for w in column.words if '"' not in w and "“" not in w]
            validation = DataValidation(
                type="list",
                formula1='"' + ",".join(words) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=column.title,
                error=f"请从下拉列表中选择：{'、'.join(words)}",
            )
            validation.add(cells)
            sheet.add_data_validation(validation)
        if column.text:
            for (cell,) in sheet.iter_rows(min_row=2, max_row=TEMPLATE_ROWS + 1, min_col=position, max_col=position):
                cell.number_format = "@"
        elif column.money:
            sheet.cell(row=2, column=position).number_format = "#,##0.00" if unit == YUAN else "#,##0.0000##"
