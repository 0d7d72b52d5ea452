"""Bureau workbooks in: Chinese sheets and headers, 万元, 参数, every problem at sheet!cell, bounded reads."""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from service.cli import run_recommendation
from service.domain.errors import InvalidInput
from service.domain.records import parse_request
from service.io.readers import MAX_PROBLEMS, MAX_SHEET_ROWS, InputFileError, read_request
from service.io.workbook import PROTECTION_WORDS, write_exact_decimals

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "wuding-county-2021.json"
WAN = Decimal(10000)

# Two documented header variants (docs/workbooks.md): the first aliases, and other aliases with units.
VARIANTS = {
    "first-aliases": {
        "departments": {
            "department_id": "单位编码",
            "name": "单位名称",
            "kind": "部门类型",
            "overall_score": "部门整体绩效得分",
        },
        "projects": {
            "project_id": "项目编码",
            "department_id": "单位编码",
            "name": "项目名称",
            "kind": "支出类型",
            "requested": "申报数（万元）",
            "prior_year_budget": "上年预算数（万元）",
            "target_review_score": "绩效目标评审得分",
            "evaluation_score": "绩效评价得分",
            "idle_balance": "结转资金（万元）",
            "idle_since_year": "资金形成年度",
            "purpose_code": "功能分类科目编码",
            "beneficiary": "受益对象",
            "urgent": "是否急需",
            "protection": "保障类别",
        },
    },
    "other-aliases": {
        "departments": {
            "department_id": "部门代码",
            "name": "部门名称",
            "kind": "部门类型",
            "overall_score": "整体绩效评价得分",
        },
        "projects": {
            "project_id": "项目代码",
            "department_id": "部门代码",
            "name": "项目名称",
            "kind": "支出类型",
            "requested": "预算申报数(万元)",
            "prior_year_budget": "上年预算数（元）",
            "target_review_score": "绩效目标评审得分",
            "evaluation_score": "绩效自评得分",
            "idle_balance": "结转结余资金",
            "idle_since_year": "资金形成年度",
            "purpose_code": "功能分类科目编码",
            "beneficiary": "受益对象",
            "urgent": "是否急需",
            "protection": "保障类别",
        },
    },
}
KIND_WORDS = {"project": "项目支出", "public_operating": "公用经费", "three_public": "三公经费"}
DEPARTMENT_WORDS = {"department": "部门", "township": "乡镇"}
PROTECTION_TYPED = {code: word for word, code in PROTECTION_WORDS.items()}  # how a bureau types 保障类别


def _cell(field: str, header: str, value: Any) -> Any:
    """How a bureau would type ``value`` under ``header``: 万元 numbers, Chinese words, 是/否."""
    if value is None:
        return None
    if "万元" in header:
        return Decimal(str(value)) / WAN
    if field in ("requested", "prior_year_budget", "idle_balance"):
        return Decimal(str(value))
    if field == "kind":
        return KIND_WORDS.get(value) or DEPARTMENT_WORDS[value]
    if field == "urgent":
        return "是" if value else "否"
    if field == "protection":
        return PROTECTION_TYPED[value]
    if field in ("overall_score", "target_review_score", "evaluation_score"):
        return Decimal(str(value))
    return value


def bureau_workbook(path: Path, data: dict[str, Any], variant: str) -> Path:
    """The demo request as a bureau workbook: sheets 参数, 部门, 项目 with Chinese headers and 万元."""
    headers = VARIANTS[variant]
    book = Workbook()
    parameters = book.active
    parameters.title = "参数"
    parameters.append(["参数", "值"])
    parameters.append(["预算年度", data["fiscal_year"]])
    parameters.append(["财力可安排数（万元）", Decimal(data["envelope"]) / WAN])
    parameters.append(["规则集", data["ruleset"]])
    for kind, title in (("departments", "部门"), ("projects", "项目")):
        sheet = book.create_sheet(title)
        fields = list(headers[kind])
        sheet.append([headers[kind][f] for f in fields])
        for record in data[kind]:
            sheet.append([_cell(f, headers[kind][f], record.get(f)) for f in fields])
    write_exact_decimals(book)
    book.save(path)
    return path


def without_id(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key != "decision_id"}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_bureau_workbook_gives_the_same_numbers_as_json(tmp_path: Path, variant: str) -> None:
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    path = bureau_workbook(tmp_path / "申报表.xlsx", data, variant)
    from_json = run_recommendation(DEMO, engine="plain")
    from_workbook = run_recommendation(path, engine="plain")
    assert without_id(from_workbook) == without_id(from_json)
    loaded = read_request(path)
    assert loaded.data["envelope"] == Decimal(data["envelope"])  # 万元 → 元 exactly
    assert loaded.data["projects"][0]["requested"] == Decimal(data["projects"][0]["requested"])


def small_book(path: Path, projects: list[list[Any]], header: list[str] | None = None) -> Path:
    book = Workbook()
    book.active.title = "部门"
    book.active.append(["单位编码", "单位名称"])
    book.active.append(["D01", "县农业农村局"])
    sheet = book.create_sheet("项目")
    sheet.append(header or ["项目编码", "单位编码", "项目名称", "支出类型", "申报数（万元）", "保障类别"])
    for row in projects:
        sheet.append(row)
    params = book.create_sheet("参数")
    params.append(["预算年度", 2021])
    write_exact_decimals(book)
    book.save(path)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InputFileError) as info:
        read_request(path)
    return info.value.problems


def test_wan_yuan_with_more_than_six_decimals_names_the_cell(tmp_path: Path) -> None:
    path = small_book(
        tmp_path / "b.xlsx",
        [
            ["P1", "D01", "甲", "项目支出", Decimal("1.123456"), "无"],
            ["P2", "D01", "乙", "项目支出", "1.1234567", "无"],
        ],
    )
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].startswith("项目!E3: 申报数: 1.1234567 万元 has more than 6 decimals")


def test_numbers_typed_as_text_are_read_as_their_text(tmp_path: Path) -> None:
    path = small_book(tmp_path / "b.xlsx", [["P1", "D01", "甲", "项目支出", "12.5", "三保-工资"]])
    project = read_request(path).data["projects"][0]
    assert project["requested"] == Decimal("125000.00")
    assert project["kind"] == "project"
    assert project["protection"] == "wages"  # 保障类别 → protection (policy 0)


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("三保-基本民生", "basic_livelihood"),
        ("三保-工资", "wages"),
        ("三保-运转", "operations"),
        ("法定支出", "statutory"),
        ("上级配套", "matching"),
        ("无", "none"),
    ],
)
def test_protection_words_map_to_codes(tmp_path: Path, word: str, code: str) -> None:
    path = small_book(tmp_path / "b.xlsx", [["P1", "D01", "甲", "项目支出", 1, word]])
    assert read_request(path).data["projects"][0]["protection"] == code


def test_unknown_enumeration_word_names_the_cell(tmp_path: Path) -> None:
    path = small_book(tmp_path / "b.xlsx", [["P1", "D01", "甲", "专项", 1, "三保"]])
    problems = problems_of(path)
    assert problems[0].startswith("项目!D2: 支出类型: '专项' is not one of 项目支出")
    assert problems[1].startswith("项目!F2: 保障类别: '三保' is not one of 三保-基本民生")


@pytest.mark.parametrize("text", ["5,00", "1_0", "５", "٥", "1e3", " 1.2.3"])
def test_amounts_only_as_plain_decimal_text_in_a_workbook(tmp_path: Path, text: str) -> None:
    path = small_book(tmp_path / "b.xlsx", [["P1", "D01", "甲", "项目支出", text, "无"]])
    [problem] = problems_of(path)
    assert problem.startswith("项目!E2: 申报数: ")
    assert "not a plain decimal amount" in problem


def test_unknown_header_is_named_once_at_its_cell(tmp_path: Path) -> None:
    rows = [["P1", "D01", "甲", "x"] for _ in range(50)]
    path = small_book(tmp_path / "b.xlsx", rows, header=["项目编码", "单位编码", "项目名称", "申报金额"])
    [problem] = problems_of(path)
    assert problem.startswith("项目!D1: unknown column '申报金额'")
    assert "申报数" in problem  # it lists the known columns


def test_core_problems_name_the_cell(tmp_path: Path) -> None:
    path = small_book(tmp_path / "b.xlsx", [["P1", "D01", "甲", "项目支出", -1, "无"], ["P2", "D09", "乙", None, 2]])
    loaded = read_request(path)
    with pytest.raises(InvalidInput) as info:
        parse_request(loaded.data, loaded.origins)
    text = [str(p) for p in info.value.problems]
    assert any(t.startswith("项目!E2: project_id P1: projects.0.requested: must not be below 0") for t in text)
    assert any(t.startswith("项目!B3: project_id P2: projects.1.department_id: unknown department") for t in text)


def test_sparse_very_wide_sheet_is_refused_at_the_first_stray_cell(tmp_path: Path) -> None:
    """One cell in column XFD on each of 10,000 rows (52 KB): refused on row 2, not padded to 164M cells."""
    book = Workbook()
    book.active.title = "部门"
    book.active.append(["单位编码", "单位名称"])
    sheet = book.create_sheet("项目")
    sheet.append(["项目编码", "单位编码", "项目名称", "申报数"])
    for row in range(2, 10_002):
        sheet.cell(row=row, column=16384, value="x")
    path = tmp_path / "wide.xlsx"
    book.save(path)
    assert path.stat().st_size < 200_000
    [problem] = problems_of(path)
    assert problem.startswith("项目!XFD2: refused: a value beyond column BL")


def _write_rows_xml(path: Path, rows: int) -> Path:
    """A workbook whose 项目 sheet has ``rows`` rows, written straight as XML (openpyxl would take minutes)."""
    book = Workbook()
    book.active.title = "部门"
    book.active.append(["单位编码", "单位名称"])
    book.create_sheet("项目").append(["项目编码"])
    source = path.with_suffix(".source.xlsx")
    book.save(source)
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as copy:
        for member in original.infolist():
            if member.filename != "xl/worksheets/sheet2.xml":
                copy.writestr(member, original.read(member))
                continue
            with copy.open(member.filename, "w") as out:
                out.write(b'<?xml version="1.0" encoding="UTF-8"?>')
                out.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
                for number in range(1, rows + 1):
                    out.write(f'<row r="{number}"><c r="A{number}"><v>{number * 7919 % 100003}</v></c></row>'.encode())
                out.write(b"</sheetData></worksheet>")
    return path


def test_million_row_sheet_is_refused_past_the_row_bound(tmp_path: Path) -> None:
    path = _write_rows_xml(tmp_path / "million.xlsx", 1_000_000)
    [problem] = problems_of(path)
    assert problem.startswith(f"million.xlsx: refused: sheet '项目' has more than {MAX_SHEET_ROWS:,} rows")


def test_rows_numbered_past_the_bound_are_refused_while_streaming(tmp_path: Path) -> None:
    """Few rows, but numbered up to 1,048,576: the stream stops at the first one past the bound."""
    book = Workbook()
    book.active.title = "部门"
    book.active.append(["单位编码", "单位名称"])
    sheet = book.create_sheet("项目")
    sheet.append(["项目编码"])
    sheet.cell(row=1_048_576, column=1, value="P1")
    path = tmp_path / "tall.xlsx"
    book.save(path)
    [problem] = problems_of(path)
    assert problem.startswith(f"项目!A1048576: refused: the sheet has more than {MAX_SHEET_ROWS:,} rows")


def test_problems_stop_after_the_cap_and_say_how_many_more(tmp_path: Path) -> None:
    rows = [[f"P{n}", "D01", "甲", "项目支出", "5,00", "无"] for n in range(MAX_PROBLEMS + 300)]
    problems = problems_of(small_book(tmp_path / "b.xlsx", rows))
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1].startswith("… and 300 more problems")


def test_csv_pair_with_chinese_names_and_parameters(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "部门.csv").write_text(
        "部门编码,部门名称,部门类型\nD01,县农业农村局,部门\nT01,狮山镇,乡镇\n", encoding="utf-8-sig"
    )
    (folder / "项目.csv").write_text(
        "项目代码,部门编码,项目名称,申请数（万元）,结转结余资金(元),资金形成年度,是否急需,保障类别\n"
        "P1,D01,动物防疫,12.345678,100.5,2019,是,上级配套\n",
        encoding="utf-8-sig",
    )
    (folder / "参数.csv").write_text("参数,值\n预算年度,2021\n财力可安排数（万元）,600\n", encoding="utf-8-sig")
    loaded = read_request(folder)
    assert loaded.data["fiscal_year"] == "2021"
    assert loaded.data["envelope"] == Decimal("6000000")
    assert loaded.data["departments"][1] == {"department_id": "T01", "name": "狮山镇", "kind": "township"}
    assert loaded.data["projects"][0] == {
        "project_id": "P1",
        "department_id": "D01",
        "name": "动物防疫",
        "requested": Decimal("123456.78"),
        "idle_balance": Decimal("100.5"),
        "idle_since_year": "2019",
        "urgent": "true",
        "protection": "matching",
    }
    assert loaded.origins[("projects.requested", 0)] == "项目.csv!D2"


def test_exact_number_cells_never_pass_through_float(tmp_path: Path) -> None:
    """openpyxl alone stores Decimal('811128.32') as 811128.3199999999; write_exact_decimals keeps it exact."""
    path = small_book(tmp_path / "b.xlsx", [["P1", "D01", "甲", "项目支出", Decimal("81.112832"), "无"]])
    raw = zipfile.ZipFile(path).read("xl/worksheets/sheet2.xml")
    assert b"<v>81.112832</v>" in raw
    assert read_request(path).data["projects"][0]["requested"] == Decimal("811128.32")
    assert load_workbook(path)["项目"]["E2"].data_type == "n"  # still a number cell


def test_the_documented_alias_table_lists_every_header_name() -> None:
    from service.io.workbook import COLUMNS, IGNORED_TITLES

    doc = (ROOT / "docs" / "workbooks.md").read_text(encoding="utf-8")
    for columns in COLUMNS.values():
        for column in columns:
            assert f"`{column.field}`" in doc, column.field
            for alias in column.aliases:
                assert alias in doc, alias
            for word in column.words:
                assert word in doc or '"' in word or "“" in word, word
    assert all(title in doc for title in IGNORED_TITLES)


def test_the_template_has_lists_an_example_and_reads_back(tmp_path: Path) -> None:
    from service.io.template import build_template

    path = tmp_path / "预算申报模板.xlsx"
    build_template("万元").save(path)
    book = load_workbook(path)
    assert book.sheetnames == ["说明", "参数", "部门", "项目"]
    projects = book["项目"]
    header = [c.value for c in projects[1]]
    assert header[:5] == ["项目编码", "单位编码", "项目名称", "支出类型", "申报数（万元）"]
    lists = {str(dv.sqref).split(":")[0][:-1]: dv.formula1 for dv in projects.data_validations.dataValidation}
    protection = header.index("保障类别") + 1
    from openpyxl.utils import get_column_letter

    assert lists[get_column_letter(protection)] == '"三保-基本民生,三保-工资,三保-运转,法定支出,上级配套,无"'
    assert lists["D"] == '"项目支出,公用经费,三公经费"'
    assert projects["A2"].number_format == "@"  # ids stay text
    request = read_request(path).data
    assert request["envelope"] == Decimal("6000000.00") and request["projects"][0]["requested"] == Decimal("1200000")
    parse_request(request)  # the example is a valid request


def test_cli_template_command(tmp_path: Path) -> None:
    import subprocess

    cli = ROOT / ".venv" / "bin" / "budget-rules"
    output = tmp_path / "模板.xlsx"
    done = subprocess.run([cli, "template", output, "--unit", "万元"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert load_workbook(output).sheetnames == ["说明", "参数", "部门", "项目"]
    wrong = subprocess.run([cli, "template", tmp_path / "t.csv"], capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and ".xlsx" in wrong.stderr


def test_cli_lists_at_most_200_problems_of_the_core(tmp_path: Path) -> None:
    """3,000 lines naming an unknown department: 200 problems, then how many more."""
    import subprocess

    rows = [[f"P{n}", "D99", "甲", "项目支出", 1] for n in range(3000)]
    path = small_book(tmp_path / "b.xlsx", rows, header=["项目编码", "单位编码", "项目名称", "支出类型", "申报数"])
    cli = ROOT / ".venv" / "bin" / "budget-rules"
    done = subprocess.run([cli, "recommend", path, "--format", "table"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 201
    assert lines[0].startswith("项目!B2: project_id P0: projects.0.department_id: unknown department 'D99'")
    assert lines[-1].startswith("… and 2,800 more problems")
