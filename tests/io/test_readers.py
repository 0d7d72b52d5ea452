"""Readers: JSON, a folder of CSVs and .xlsx workbooks become the exact raw request dict."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from service.io.readers import (
    MAX_INPUT_BYTES,
    InputFileError,
    LoadedRequest,
    check_xlsx_container,
    read_records_from_csv_text,
    read_request,
)

DEPARTMENTS_CSV = "department_id,name,kind,overall_score\nD01,县农业农村局,,92\n T01 , 狮山镇 ,township,78.5\n"
PROJECTS_CSV = (
    "project_id,department_id,name,requested,target_review_score,evaluation_score,urgent,备注\n"
    "P001,D01,动物防疫,1200000.10,81,93,是,\n"
    "\n"
    'P002,T01,"道路, 维修",0.1,,,false,自定义\n'
)
EXPECTED_DEPARTMENTS = [
    {"department_id": "D01", "name": "县农业农村局", "overall_score": "92"},
    {"department_id": "T01", "name": "狮山镇", "kind": "township", "overall_score": "78.5"},
]
EXPECTED_PROJECTS = [
    {
        "project_id": "P001",
        "department_id": "D01",
        "name": "动物防疫",
        "requested": Decimal("1200000.10"),
        "target_review_score": "81",
        "evaluation_score": "93",
        "urgent": "true",
    },
    {
        "project_id": "P002",
        "department_id": "T01",
        "name": "道路, 维修",
        "requested": Decimal("0.1"),
        "urgent": "false",
    },
]


def assert_no_float(value: Any, where: str = "request") -> None:
    """Walk the whole structure: no float may appear anywhere."""
    assert not isinstance(value, float), f"float at {where}: {value!r}"
    if isinstance(value, dict):
        for key, item in value.items():
            assert_no_float(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_no_float(item, f"{where}[{index}]")


def problems_of(path: Path, **kwargs: Any) -> list[str]:
    with pytest.raises(InputFileError) as info:
        read_request(path, **kwargs)
    assert info.value.problems, "an InputFileError always lists problems"
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


# --- JSON -------------------------------------------------------------------------------------


def write_json_text(tmp_path: Path, text: str, name: str = "request.json") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_json_numbers_stay_exact(tmp_path: Path) -> None:
    text = json.dumps(
        {
            "fiscal_year": 2021,
            "envelope": "147242100.00",
            "departments": [{"department_id": "D01", "name": "县农业农村局", "overall_score": 92}],
            "projects": [
                {
                    "project_id": "P001",
                    "department_id": "D01",
                    "name": "动物防疫",
                    "requested": "1200000.00",
                    "target_review_score": 81,
                }
            ],
        },
        ensure_ascii=False,
    )
    # numbers with a fraction, written by hand so their text is exactly what we check
    text = text.replace('"overall_score": 92', '"overall_score": 78.50, "x": 0.1, "big": 1e3')
    loaded = read_request(write_json_text(tmp_path, text))
    assert isinstance(loaded, LoadedRequest)
    assert loaded.origins == {}
    dept = loaded.data["departments"][0]
    assert dept["x"] == Decimal("0.1") and isinstance(dept["x"], Decimal)
    assert str(dept["overall_score"]) == "78.50"
    assert dept["big"] == Decimal("1000")
    assert loaded.data["fiscal_year"] == 2021 and type(loaded.data["fiscal_year"]) is int
    assert loaded.data["projects"][0]["target_review_score"] == 81
    assert_no_float(loaded.data)


def test_json_with_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"fiscal_year": 2021}).encode())
    assert read_request(path).data == {"fiscal_year": 2021}


def test_json_fiscal_year_argument_overrides(tmp_path: Path) -> None:
    path = write_json_text(tmp_path, '{"fiscal_year": 2020, "projects": []}')
    assert read_request(path, fiscal_year=2022).data["fiscal_year"] == 2022


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_non_finite_numbers_are_refused(tmp_path: Path, constant: str) -> None:
    path = write_json_text(tmp_path, f'{{"fiscal_year": 2021, "envelope": {constant}}}')
    [problem] = problems_of(path)
    assert "request.json" in problem
    assert constant.lstrip("-") in problem and "finite" in problem


def test_json_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write_json_text(tmp_path, '{\n  "fiscal_year": 2021,\n  "projects": [1,]\n}')
    [problem] = problems_of(path)
    assert problem.startswith("request.json line 3 column ")
    assert "invalid JSON" in problem


def test_json_duplicate_key_is_refused(tmp_path: Path) -> None:
    text = '{"fiscal_year": 2021, "projects": [{"requested": "1.00", "requested": "2.00"}]}'
    [problem] = problems_of(write_json_text(tmp_path, text))
    assert problem == "request.json: the key 'requested' appears twice in the same JSON object; keep one"


def test_json_top_level_must_be_an_object(tmp_path: Path) -> None:
    [problem] = problems_of(write_json_text(tmp_path, "[1, 2]"))
    assert "request.json" in problem and "object" in problem and "array" in problem


def test_json_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_bytes('{"name": "县农业农村局"}'.encode("gbk"))
    [problem] = problems_of(path)
    assert "request.json" in problem and "UTF-8" in problem and "byte offset 10" in problem


def test_json_too_large_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as fh:  # sparse: costs no disk and no time
        fh.truncate(MAX_INPUT_BYTES + 1)
    [problem] = problems_of(path)
    assert "huge.json" in problem and "too large" in problem and "50 MB" in problem


# --- other paths ------------------------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path / "nope.json")
    assert "nope.json" in problem and "no such file" in problem


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "request.xls"
    path.write_bytes(b"old excel")
    [problem] = problems_of(path)
    assert "request.xls" in problem and "unsupported" in problem and ".xlsx" in problem


# --- folder of CSVs ---------------------------------------------------------------------------


def make_csv_folder(
    tmp_path: Path, departments: str = DEPARTMENTS_CSV, projects: str = PROJECTS_CSV, *, bom: bool = True
) -> Path:
    folder = tmp_path / "request"
    folder.mkdir()
    prefix = b"\xef\xbb\xbf" if bom else b""
    (folder / "departments.csv").write_bytes(prefix + departments.encode("utf-8"))
    (folder / "projects.csv").write_bytes(prefix + projects.encode("utf-8"))
    return folder


@pytest.mark.parametrize("bom", [True, False])
def test_csv_folder_reads_back_raw_records(tmp_path: Path, bom: bool) -> None:
    loaded = read_request(make_csv_folder(tmp_path, bom=bom), fiscal_year=2021)
    assert loaded.data == {
        "fiscal_year": 2021,
        "departments": EXPECTED_DEPARTMENTS,
        "projects": EXPECTED_PROJECTS,
    }
    assert_no_float(loaded.data)
    # the blank line 3 is skipped, but row numbers still match what a spreadsheet shows
    records = {key: place for key, place in loaded.origins.items() if "." not in key[0]}
    assert records == {
        ("departments", 0): "departments.csv row 2",
        ("departments", 1): "departments.csv row 3",
        ("projects", 0): "projects.csv row 2",
        ("projects", 1): "projects.csv row 4",
    }
    # each field also knows its cell, so the core's problems name it
    assert loaded.origins[("projects.requested", 1)] == "projects.csv!D4"


def test_csv_folder_written_by_csv_module_round_trips(tmp_path: Path) -> None:
    import csv

    folder = tmp_path / "out"
    folder.mkdir()
    for kind, records in (("departments", EXPECTED_DEPARTMENTS), ("projects", EXPECTED_PROJECTS)):
        fields = list(dict.fromkeys(key for record in records for key in record))
        with (folder / f"{kind}.csv").open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(records)
    loaded = read_request(folder, fiscal_year=2021)
    assert loaded.data["departments"] == EXPECTED_DEPARTMENTS
    assert loaded.data["projects"] == EXPECTED_PROJECTS


def test_csv_folder_needs_fiscal_year(tmp_path: Path) -> None:
    [problem] = problems_of(make_csv_folder(tmp_path))
    assert "a folder of CSVs needs --fiscal-year" in problem


def test_csv_folder_missing_files(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    problems = problems_of(folder, fiscal_year=2021)
    assert len(problems) == 2
    assert "departments.csv or 部门.csv is missing" in problems[0]
    assert "projects.csv or 项目.csv is missing" in problems[1]


def test_gbk_csv_is_refused_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "gbk"
    folder.mkdir()
    (folder / "departments.csv").write_bytes(DEPARTMENTS_CSV.encode("gbk"))
    (folder / "projects.csv").write_text(PROJECTS_CSV, encoding="utf-8")
    [problem] = problems_of(folder, fiscal_year=2021)
    offset = len(b"department_id,name,kind,overall_score\nD01,")
    assert problem.startswith("departments.csv: not valid UTF-8")
    assert f"byte offset {offset}" in problem
    assert "must be saved as UTF-8" in problem and "GBK" in problem


def test_csv_row_wider_than_header(tmp_path: Path) -> None:
    projects = "project_id,name\nP1,甲\nP2,乙,extra\n"
    [problem] = problems_of(make_csv_folder(tmp_path, projects=projects), fiscal_year=2021)
    assert problem == "projects.csv!C3: holds a value but its column has no name in the header"


def test_csv_duplicate_header(tmp_path: Path) -> None:
    projects = "project_id,name,name\nP1,甲,乙\n"
    [problem] = problems_of(make_csv_folder(tmp_path, projects=projects), fiscal_year=2021)
    assert problem == "projects.csv!C1: column 'name' is the same field (name) as projects.csv!B1; keep one"


def test_csv_problems_of_both_files_are_all_reported(tmp_path: Path) -> None:
    folder = make_csv_folder(tmp_path, departments="", projects='project_id\n"unclosed\n')
    problems = problems_of(folder, fiscal_year=2021)
    assert problems[0].startswith("departments.csv: empty: a header row")
    assert problems[1].startswith("projects.csv row 2: invalid CSV")


def test_csv_trailing_empty_columns_and_rows_are_ignored() -> None:
    records, places, problems = read_records_from_csv_text("project_id,name,,\nP1,甲,,\n,,,\n", "projects.csv")
    assert records == [{"project_id": "P1", "name": "甲"}]
    assert places == ["projects.csv row 2"]
    assert problems == []


def test_csv_value_under_a_nameless_column() -> None:
    _, _, problems = read_records_from_csv_text("project_id,,name\nP1,x,甲\n", "projects.csv")
    assert problems == ["projects.csv row 2: column B (2) holds a value but has no name in the header"]


# --- .xlsx ------------------------------------------------------------------------------------


def make_workbook(
    path: Path,
    *,
    departments_title: str = "departments",
    projects_title: str = "projects",
    request_rows: list[list[Any]] | None = None,
    extra_project_row: list[Any] | None = None,
) -> Path:
    workbook = Workbook()
    dept = workbook.active
    dept.title = departments_title
    dept.append(["department_id", "name", "kind", "overall_score"])
    dept.append(["D01", " 县农业农村局 ", None, 92])
    dept.append(["T01", "狮山镇", "township", 78.5])
    projects = workbook.create_sheet(projects_title)
    projects.append(
        [
            "project_id",
            "department_id",
            "name",
            "requested",
            "prior_year_budget",
            "target_review_score",
            "urgent",
            "备注",
        ]
    )
    projects.append(["P001", "D01", "动物防疫", Decimal("1200000.10"), 1200000.1, 81, True, "  "])
    projects.append([])
    projects.append(["P002", "T01", "道路维修", 0.1, None, 80.5, False, "自定义"])
    if extra_project_row is not None:
        projects.append(extra_project_row)
    if request_rows is not None:
        request = workbook.create_sheet("request")
        for row in request_rows:
            request.append(row)
    workbook.save(path)
    return path


EXPECTED_XLSX_PROJECTS = [
    {
        "project_id": "P001",
        "department_id": "D01",
        "name": "动物防疫",
        "requested": Decimal("1200000.10"),
        "prior_year_budget": Decimal("1200000.1"),
        "target_review_score": 81,
        "urgent": True,
    },
    {
        "project_id": "P002",
        "department_id": "T01",
        "name": "道路维修",
        "requested": Decimal("0.1"),
        "target_review_score": Decimal("80.5"),
        "urgent": False,
    },
]


def test_xlsx_reads_back_exact_values(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "budget.xlsx",
        request_rows=[
            ["key", "value"],
            ["fiscal_year", 2021],
            ["envelope", 147242100.5],
            ["ruleset", " wuding-county "],
        ],
    )
    loaded = read_request(path)
    assert loaded.data == {
        "fiscal_year": 2021,
        "envelope": Decimal("147242100.50"),
        "ruleset": "wuding-county",
        "departments": [
            {"department_id": "D01", "name": "县农业农村局", "overall_score": 92},
            {"department_id": "T01", "name": "狮山镇", "kind": "township", "overall_score": Decimal("78.5")},
        ],
        "projects": EXPECTED_XLSX_PROJECTS,
    }
    requested = loaded.data["projects"][0]["requested"]
    assert isinstance(requested, Decimal) and requested == Decimal("1200000.10")
    assert str(requested) == "1200000.1"  # openpyxl writes a Decimal cell through float
    assert type(loaded.data["projects"][0]["urgent"]) is bool
    assert_no_float(loaded.data)
    records = {key: place for key, place in loaded.origins.items() if "." not in key[0]}
    assert records == {
        ("departments", 0): "departments row 2",
        ("departments", 1): "departments row 3",
        ("projects", 0): "projects row 2",
        ("projects", 1): "projects row 4",
    }
    assert loaded.origins[("projects.prior_year_budget", 0)] == "projects!E2"


def test_xlsx_chinese_sheet_names_and_fiscal_year_argument(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "预算.xlsx",
        departments_title="部门",
        projects_title="项目",
        request_rows=[["fiscal_year", 2020]],
    )
    loaded = read_request(path, fiscal_year=2022)
    assert loaded.data["fiscal_year"] == 2022
    assert loaded.data["projects"] == EXPECTED_XLSX_PROJECTS
    assert loaded.origins[("projects", 1)] == "项目 row 4"


def test_xlsx_without_fiscal_year(tmp_path: Path) -> None:
    [problem] = problems_of(make_workbook(tmp_path / "budget.xlsx"))
    assert "budget.xlsx" in problem and "预算年度" in problem and "--fiscal-year" in problem
    assert read_request(tmp_path / "budget.xlsx", fiscal_year=2021).data["fiscal_year"] == 2021


def test_xlsx_date_cell_is_a_problem_naming_the_cell(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "budget.xlsx", extra_project_row=["P003", "D01", "日期", dt.date(2021, 3, 1)])
    [problem] = problems_of(path, fiscal_year=2021)
    assert problem.startswith("projects!D5: holds a date")


def test_xlsx_error_cell_and_nameless_column(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "budget.xlsx", extra_project_row=["P003", "D01", "#DIV/0!", 1, None, None, None, None, "x"]
    )
    workbook_path = path
    from openpyxl import load_workbook

    workbook = load_workbook(workbook_path)
    workbook["projects"]["C5"].data_type = "e"
    workbook.save(workbook_path)
    problems = problems_of(workbook_path, fiscal_year=2021)
    assert problems == [
        "projects!C5: holds the spreadsheet error #DIV/0!; type a value instead",
        "projects!I5: holds a value but its column has no name in the header",
    ]


def test_xlsx_missing_sheets(tmp_path: Path) -> None:
    path = tmp_path / "budget.xlsx"
    workbook = Workbook()
    workbook.active.title = "Sheet1"
    workbook.save(path)
    problems = problems_of(path, fiscal_year=2021)
    assert problems == [
        "budget.xlsx: no sheet named 'departments' or '部门' (sheets: 'Sheet1')",
        "budget.xlsx: no sheet named 'projects' or '项目' (sheets: 'Sheet1')",
    ]


def test_xlsx_duplicate_header(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "budget.xlsx")
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    workbook["departments"]["D1"] = "name"
    workbook.save(path)
    [problem] = problems_of(path, fiscal_year=2021)
    assert problem == "departments!D1: column 'name' is the same field (name) as departments!B1; keep one"


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "budget.xlsx"
    path.write_text("department_id,name\n", encoding="utf-8")
    [problem] = problems_of(path)
    assert problem.startswith("budget.xlsx: not a valid .xlsx workbook")


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "budget.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    [problem] = problems_of(path)
    assert problem.startswith("budget.xlsx: not a valid .xlsx workbook")


def test_zip_bomb_is_refused_without_extracting(tmp_path: Path) -> None:
    """A 300 MB member of zeros compresses to about 1 MB: refused from the zip directory alone."""
    path = tmp_path / "bomb.xlsx"
    chunk = bytes(4 * 1024 * 1024)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member,
    ):
        for _ in range(75):
            member.write(chunk)
    assert path.stat().st_size < 5 * 1024 * 1024
    problems = problems_of(path)
    assert any("bomb.xlsx: refused: the workbook would expand to 314,572,800 bytes" in p for p in problems)
    assert any("compression ratio" in p and "xl/worksheets/sheet1.xml" in p for p in problems)


def test_high_compression_ratio_alone_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dense.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/sharedStrings.xml", bytes(8 * 1024 * 1024))
    [problem] = problems_of(path)
    assert "refused: member xl/sharedStrings.xml has a compression ratio of" in problem


def test_container_check_limits_are_parameters(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "budget.xlsx")
    assert check_xlsx_container(path) == []
    [problem] = check_xlsx_container(path, max_total_bytes=1000)
    assert "the limit is 1,000 bytes" in problem
    ratio_problems = check_xlsx_container(path, max_ratio=1, ratio_min_bytes=0)
    assert ratio_problems and all("compression ratio" in p for p in ratio_problems)


def test_xlsx_forged_dimension_does_not_pad_empty_cells(tmp_path: Path) -> None:
    """A sheet claiming A1:XFD1048576 is read by its real cells.

    Padding each of the 2,000 rows to 16,384 columns would take a minute; without padding it is
    instant.
    """
    workbook = Workbook()
    workbook.active.title = "departments"
    workbook.active.append(["department_id", "name"])
    projects = workbook.create_sheet("projects")
    projects.append(["project_id", "name"])
    for number in range(2000):
        projects.append([f"P{number:04d}", "项目"])
    source = tmp_path / "source.xlsx"
    workbook.save(source)
    forged = tmp_path / "forged.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(forged, "w", zipfile.ZIP_DEFLATED) as copy:
        for member in original.infolist():
            content = original.read(member)
            if member.filename.startswith("xl/worksheets/"):
                content, count = re.subn(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', content)
                assert count == 1
            copy.writestr(member, content)
    started = time.perf_counter()
    loaded = read_request(forged, fiscal_year=2021)
    assert time.perf_counter() - started < 5  # about 0.1 s here; about 10 s when padding
    assert len(loaded.data["projects"]) == 2000
    assert loaded.data["projects"][-1] == {"project_id": "P1999", "name": "项目"}
