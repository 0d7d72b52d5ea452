"""Bureau workbooks: the one table of column headers (表头别名) and how each cell becomes a field value.

局机关的申报表: sheets 部门/项目/参数 with Chinese headers, amounts often in 万元. This module knows
which header names mean which field, which unit a header carries (``申报数（万元）``), which words of
an enumeration mean which code (``三保-工资`` → ``wages``) and how one cell becomes the exact value
the core validates. It does no container work (see :mod:`service.io.readers`) and no budget checks.

The same table is documented for people in docs/workbooks.md and is what ``budget-rules template``
writes (see :mod:`service.io.template`).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from service.domain.money import plain_decimal

YUAN = "元"
WAN_YUAN = "万元"
UNITS = (YUAN, WAN_YUAN)
WAN = Decimal(10000)
MAX_WAN_DECIMALS = 6
"""万元 amounts carry at most six decimals: exactly the fen (0.000001 万元 = 0.01 元)."""


@dataclass(frozen=True)
class Column:
    """One field of a record sheet: its Chinese title (first alias), aliases and how to read a cell."""

    field: str
    aliases: tuple[str, ...]
    money: bool = False
    words: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Enumeration words (中文) → codes; codes themselves are always accepted too."""
    text: bool = False
    """Ids and codes: a number typed in such a cell (1001) is read as its text ("1001")."""
    strict_words: bool = True
    """Whether a word outside ``words`` is a problem here (else the core judges it, e.g. 是否急需 "Y")."""
    note: str = ""

    @property
    def title(self) -> str:
        return self.aliases[0]


DEPARTMENT_KIND_WORDS = {"部门": "department", "乡镇": "township"}
LINE_KIND_WORDS = {
    "项目支出": "project",
    "公用经费": "public_operating",
    "三公经费": "three_public",
    '"三公"经费': "three_public",
    "“三公”经费": "three_public",
}
PROTECTION_WORDS = {
    "三保-基本民生": "basic_livelihood",
    "三保-工资": "wages",
    "三保-运转": "operations",
    "法定支出": "statutory",
    "上级配套": "matching",
    "无": "none",
}
URGENT_WORDS = {"是": "true", "否": "false"}

DEPARTMENT_COLUMNS = (
    Column("department_id", ("单位编码", "部门编码", "单位代码", "部门代码"), text=True),
    Column("name", ("单位名称", "部门名称")),
    Column("kind", ("部门类型", "单位类型"), words=DEPARTMENT_KIND_WORDS, note="部门 或 乡镇"),
    Column("overall_score", ("部门整体绩效得分", "整体绩效评价得分", "部门整体支出绩效评价得分")),
)
PROJECT_COLUMNS = (
    Column("project_id", ("项目编码", "项目代码"), text=True),
    Column("department_id", ("单位编码", "部门编码", "单位代码", "部门代码"), text=True),
    Column("name", ("项目名称",)),
    Column("kind", ("支出类型",), words=LINE_KIND_WORDS, note="项目支出 / 公用经费 / 三公经费"),
    Column("requested", ("申报数", "申请数", "预算申报数"), money=True),
    Column("prior_year_budget", ("上年预算数",), money=True),
    Column("target_review_score", ("绩效目标评审得分",)),
    Column("evaluation_score", ("绩效评价得分", "绩效自评得分")),
    Column("idle_balance", ("结转资金", "沉淀资金", "结转结余资金"), money=True),
    Column("idle_since_year", ("资金形成年度",)),
    Column("purpose_code", ("功能分类科目编码",), text=True),
    Column("beneficiary", ("受益对象",)),
    Column("urgent", ("是否急需",), words=URGENT_WORDS, strict_words=False, note="是 或 否"),
    Column("protection", ("保障类别",), words=PROTECTION_WORDS, note=" / ".join(PROTECTION_WORDS)),
)
PARAMETER_COLUMNS = (
    Column("fiscal_year", ("预算年度", "年度")),
    Column("envelope", ("财力可安排数", "县级财力可安排数"), money=True),
    Column("ruleset", ("规则集",), text=True),
)
COLUMNS = {"departments": DEPARTMENT_COLUMNS, "projects": PROJECT_COLUMNS, "parameters": PARAMETER_COLUMNS}

IGNORED_TITLES = ("序号", "备注", "说明")
"""Columns a bureau sheet often has that carry nothing for the rules: read past, never an error."""

PARAMETER_HEADER_WORDS = {"key", "field", "字段", "参数", "参数名称", "名称", "项目"}
"""Column A of an optional header row of the 参数 sheet (``参数 | 值``)."""

_UNIT_SUFFIX = re.compile(r"^(?P<base>.*?)[(（]\s*(?P<unit>[^()（）]*?)\s*[)）]$")


def _key(title: str) -> str:
    """Header comparison key: NFKC (full-width letters), no spaces, case-folded."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", title)).casefold()


def _lookup(columns: Sequence[Column]) -> dict[str, Column]:
    table: dict[str, Column] = {}
    for column in columns:
        for name in (column.field, *column.aliases):
            table[_key(name)] = column
    return table


_LOOKUPS = {kind: _lookup(columns) for kind, columns in COLUMNS.items()}


@dataclass(frozen=True)
class HeaderColumn:
    """A resolved header cell: the field it fills and the unit its amounts are in."""

    column: Column
    unit: str = YUAN


def split_unit(title: str) -> tuple[str, str | None]:
    """``"申报数（万元）"`` → ``("申报数", "万元")``; a title without a bracketed suffix has no unit."""
    match = _UNIT_SUFFIX.match(title.strip())
    if not match:
        return title.strip(), None
    return match["base"].strip(), match["unit"].strip()


def resolve_header(kind: str, title: str) -> HeaderColumn | str | None:
    """The column a header title names; ``None`` for an ignored column; an error message otherwise."""
    base, unit = split_unit(title)
    column = _LOOKUPS[kind].get(_key(base))
    if column is None:
        if _key(base) in {_key(t) for t in IGNORED_TITLES}:
            return None
        known = "、".join(c.title for c in COLUMNS[kind])
        return f"unknown column {title!r} (未知列名); the known columns are {known} (see docs/workbooks.md)"
    if unit is None:
        return HeaderColumn(column)
    if not column.money:
        return f"column {title!r}: only amounts carry a unit, {column.title} does not"
    if unit not in UNITS:
        return f"column {title!r}: unknown unit {unit!r}: write （元） or （万元）"
    return HeaderColumn(column, unit)


def cell_value(header: HeaderColumn, value: Any) -> tuple[Any, str | None]:
    """The field value of one non-empty cell, or ``(None, problem)``.

    Money: a number cell is taken as its exact decimal; text must be plain decimal text (the core
    would refuse it otherwise with the same rule); 万元 converts exactly to 元. Ids and codes typed as
    numbers become their text. Enumeration words become codes. Everything else passes through for
    the core to validate.
    """
    column = header.column
    if column.money:
        return _money(header, value)
    if column.text and isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value), None
    if column.words and isinstance(value, str):
        word = value.strip()
        code = column.words.get(word) or column.words.get(unicodedata.normalize("NFKC", word))
        if code is not None:
            return code, None
        if word in column.words.values() or not column.strict_words:
            return word, None
        return None, f"{word!r} is not one of {' / '.join(column.words)}"
    return value, None


def _money(header: HeaderColumn, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return None, "an amount must be a number, not TRUE/FALSE"
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        parsed = plain_decimal(value)
        if parsed is None:
            return None, (
                f"{value!r} is not a plain decimal amount: ASCII digits with one optional point, "
                "no thousands separators (e.g. 1234.56)"
            )
        number = parsed
    else:
        return value, None
    if header.unit == YUAN:
        return number, None
    exponent = number.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) else 0
    if decimals > MAX_WAN_DECIMALS:
        return None, f"{value} 万元 has more than {MAX_WAN_DECIMALS} decimals (万元 amounts are exact to the fen)"
    yuan = number * WAN
    return (yuan.quantize(Decimal("0.01")) if yuan.as_tuple().exponent != 0 else yuan), None


def yuan_to_wan(amount: Decimal) -> Decimal:
    """An amount in 元 shown in 万元 (exact, at most six decimals)."""
    return (amount / WAN).quantize(Decimal("0.000001")).normalize()


def write_exact_decimals(workbook: Any) -> None:
    """Make every ``Decimal`` cell of ``workbook`` save as its exact decimal text.

    openpyxl writes numbers with ``"%.16g"`` through a float, so 811128.32 would be stored as
    811128.3199999999. A number cell whose stored value is already text is written as that text
    (still a number cell, ``t="n"``). Call this last, just before saving.
    """
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, Decimal) and cell.value.is_finite():
                    cell._value = format(cell.value, "f")
