"""Writers: a hand-made result renders as json, a Rich table, csv and xlsx with exact money."""

from __future__ import annotations

import copy
import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from rich.cells import cell_len
from rich.console import Console

from service.io.writers import (
    FORMATS,
    LINE_COLUMNS,
    guard_text,
    render_table,
    write_result,
)


def explanation(
    policy: str,
    effect: str,
    zh: str,
    en: str,
    citation: str,
    outcome: str = "applied",
    superseded_by: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "policy": policy,
        "rule": f"{policy}/main",
        "outcome": outcome,
        "action": "set-amount",
        "effect": effect,
        "reason": {"zh": zh, "en": en},
        "citation": citation,
        "facts": {"score": "70"},
        "params": {"cut_rate": "0.10"},
    }
    if superseded_by is not None:
        entry["superseded_by"] = superseded_by
    return entry


def sample_result() -> dict[str, Any]:
    return {
        "decision_id": "dec-0001",
        "ruleset": {"id": "wuding-county", "revision": "r3", "digest": "sha256:abc123"},
        "fiscal_year": 2021,
        "lines": [
            {
                "project_id": "P001",
                "department_id": "D01",
                "name": "动物防疫",
                "kind": "project",
                "requested": "1200000.00",
                "after_policies": "1200000.00",
                "recommended": "1200000.00",
                "allocated_from_pool": "0.00",
                "reclaimed": "0.00",
                "status": "funded",
                "tier": 1,
                "flags": [{"code": "priority"}],
                "explanations": [
                    explanation("prioritize-good", "0.00", "绩效优，优先保障", "grade A: priority", "ZF2018-34")
                ],
            },
            {
                "project_id": "P002",
                "department_id": "D02",
                "name": "=cmd|' /C calc'!A0",
                "kind": "project",
                "requested": "800000.00",
                "after_policies": "720000.00",
                "recommended": "720000.00",
                "allocated_from_pool": "0.00",
                "reclaimed": "12345.67",
                "status": "reduced",
                "tier": 3,
                "flags": [
                    {"code": "improvement-required"},
                    {"code": "possible-duplicate", "others": ["P003"]},
                ],
                "explanations": [
                    explanation(
                        "cut-inefficient",
                        "-80000.00",
                        "评价得分70，核减10%",
                        "score 70: cut by 10%",
                        "WD2020 三(二)",
                    ),
                    explanation("urge-improvement", "0.00", "督促改进", "improvement required", "WD2020 三(二)"),
                ],
            },
            {
                "project_id": "P003",
                "department_id": "D02",
                "name": "-80000.00",
                "kind": "project",
                "requested": "500000.00",
                "after_policies": "0.00",
                "recommended": "0.00",
                "allocated_from_pool": "0.00",
                "reclaimed": "0.00",
                "status": "excluded",
                "tier": None,
                "flags": [],
                "explanations": [
                    explanation(
                        "target-review-gate",
                        "-500000.00",
                        "未经绩效目标评审，不予安排",
                        "no target review: excluded",
                        "WD2020 一(三)6",
                    ),
                    explanation(
                        "prioritize-good",
                        "0.00",
                        "被排除",
                        "superseded",
                        "ZF2018-34",
                        outcome="superseded",
                        superseded_by="target-review-gate",
                    ),
                ],
            },
        ],
        "summary": {
            "totals": {
                "requested": "2500000.00",
                "after_policies": "1920000.00",
                "recommended": "1920000.00",
                "cut": "580000.00",
                "reclaimed": "12345.67",
                "allocated_from_pool": "0.00",
                "reserve_envelope": "0.00",
                "reserve_pool": "12345.67",
                "reserve": "12345.67",
            },
            "counts": {"excluded": 1, "cancelled": 0, "reduced": 1, "funded": 1},
            "departments": [
                {
                    "department_id": "D01",
                    "totals": {"requested": "1200000.00", "recommended": "1200000.00"},
                    "counts": {"funded": 1},
                },
                {
                    "department_id": "D02",
                    "totals": {"requested": "1300000.00", "recommended": "720000.00"},
                    "counts": {"excluded": 1, "reduced": 1},
                },
            ],
        },
    }


def test_formats() -> None:
    assert FORMATS == ("json", "table", "csv", "xlsx")


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown output format 'yaml'"):
        write_result(sample_result(), "yaml", None)


# --- json -------------------------------------------------------------------------------------


def test_json_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    result = sample_result()
    write_result(result, "json", None)
    out = capsys.readouterr().out
    assert json.loads(out) == result
    assert "动物防疫" in out  # not \\u-escaped
    assert out.endswith("}\n")


def test_json_to_file(tmp_path: Path) -> None:
    output = tmp_path / "result.json"
    write_result(sample_result(), "json", output)
    text = output.read_text(encoding="utf-8")
    assert text == json.dumps(sample_result(), ensure_ascii=False, indent=2) + "\n"


# --- table ------------------------------------------------------------------------------------


def rendered(result: dict[str, Any], width: int = 140) -> str:
    console = Console(record=True, width=width, color_system=None)
    render_table(result, console)
    return console.export_text()


def test_table_shows_ids_status_and_money() -> None:
    text = rendered(sample_result())
    for needle in (
        "P001",
        "P002",
        "P003",
        "D01",
        "D02",
        "动物防疫",
        "全额安排",
        "核减",
        "不予纳入",
        "1,200,000.00元",
        "720,000.00元",
        "800,000.00元",
        "督促整改",
        "优先保障",
        "wuding-county",
        "r3",
        "sha256:abc123",
        "2021",
        "未安排财力合计",
        "12,345.67元",
        "取消 0 项",
    ):
        assert needle in text, needle
    assert "improvement-required" not in text  # flag codes are shown in GLOSSARY words


def test_table_stacks_in_80_columns_and_keeps_every_field() -> None:
    text = rendered(sample_result(), width=80)
    assert all(len(line) <= 80 for line in text.splitlines())
    for needle in (
        "P002",
        "申报数 800,000.00元",
        "建议数 720,000.00元",
        "核减",
        "第3档",
        "督促整改、疑似交叉重复",
        "理由：",
    ):
        assert needle in text, needle
    assert "cut-inefficient" in text.replace("\n", "")  # an action without a GLOSSARY word: its policy


def test_summary_explains_pool_money_above_the_envelope() -> None:
    result = sample_result()
    result["envelope"] = "1800000.00"
    result["summary"]["totals"]["allocated_from_pool"] = "120000.00"
    text = rendered(result)
    assert "财力可安排数" in text and "1,800,000.00元" in text
    assert "来自收回统筹资金" in text and "可以高于财力可安排数" in text


def test_table_fits_120_columns_without_truncating_ids_or_money() -> None:
    result = sample_result()
    long_id = "P-2021-农业-00000000000000000001"
    result["lines"][0]["project_id"] = long_id
    result["lines"][0]["name"] = "县级动物疫病防控及重大动物疫情应急处置能力建设项目" * 2
    result["lines"][0]["requested"] = "147242100.00"
    text = rendered(result, width=120)
    assert all(len(line) <= 120 for line in text.splitlines())
    assert long_id in text
    assert "147,242,100.00元" in text
    assert "…" not in text


def test_table_never_truncates_with_an_ellipsis_even_when_narrow() -> None:
    assert "…" not in rendered(sample_result(), width=60)


def test_table_money_is_right_aligned() -> None:
    text = rendered(sample_result())
    rows = text.splitlines()
    row_p001 = next(line for line in rows if "P001" in line)
    row_p003 = next(line for line in rows if "P003" in line)

    def end_cell(row: str, money: str) -> int:
        """Terminal cell where ``money`` ends (CJK characters take two cells)."""
        return cell_len(row[: row.index(money) + len(money)])

    # the requested column ends at the same cell for 1200000.00 and 500000.00
    assert end_cell(row_p001, "1,200,000.00元") == end_cell(row_p003, "500,000.00元")


def test_table_does_not_interpret_markup_in_names() -> None:
    result = sample_result()
    result["lines"][0]["name"] = "[b]警告[/b]"
    assert "[b]警告[/b]" in rendered(result)


def test_table_to_file_is_plain_text(tmp_path: Path) -> None:
    output = tmp_path / "result.txt"
    write_result(sample_result(), "table", output)
    text = output.read_text(encoding="utf-8")
    assert "核减" in text and "\x1b[" not in text
    assert all(len(line) <= 120 for line in text.splitlines())


# --- csv --------------------------------------------------------------------------------------


def test_csv_to_file(tmp_path: Path) -> None:
    output = tmp_path / "result.csv"
    write_result(sample_result(), "csv", output)
    raw = output.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
    assert rows[0] == list(LINE_COLUMNS)
    assert len(rows) == 4
    by_id = {row[0]: dict(zip(LINE_COLUMNS, row, strict=True)) for row in rows[1:]}
    assert by_id["P001"]["requested"] == "1200000.00"
    assert by_id["P002"]["after_policies"] == "720000.00"
    assert by_id["P002"]["reclaimed"] == "12345.67"
    assert by_id["P002"]["name"] == "'=cmd|' /C calc'!A0"
    assert by_id["P003"]["name"] == "-80000.00"
    assert by_id["P003"]["tier"] == ""
    assert by_id["P001"]["tier"] == "1"
    assert by_id["P002"]["flags"] == "improvement-required;possible-duplicate"
    assert by_id["P002"]["reasons_zh"] == "评价得分70，核减10% | 督促改进"
    assert by_id["P002"]["reasons_en"] == "score 70: cut by 10% | improvement required"
    assert by_id["P002"]["citations"] == "WD2020 三(二)"
    assert by_id["P003"]["citations"] == "WD2020 一(三)6 | ZF2018-34"
    assert by_id["P003"]["status"] == "excluded"


def test_csv_to_stdout_has_bom(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    write_result(sample_result(), "csv", None)
    out = capsysbinary.readouterr().out
    assert out.startswith("\ufeffproject_id,department_id,name".encode())
    assert "动物防疫".encode() in out


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd", "'=cmd"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-80000.00", "-80000.00"),
        ("+12", "+12"),
        ("动物=防疫", "动物=防疫"),
        ("", ""),
        ("-", "'-"),
    ],
)
def test_formula_guard(value: str, expected: str) -> None:
    assert guard_text(value) == expected


# --- xlsx -------------------------------------------------------------------------------------


def test_xlsx_needs_an_output() -> None:
    with pytest.raises(ValueError, match="xlsx format needs an output file"):
        write_result(sample_result(), "xlsx", None)


def sheet_dicts(sheet: Any) -> list[dict[str, Any]]:
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_xlsx_reads_back_with_exact_money(tmp_path: Path) -> None:
    result = sample_result()
    original = copy.deepcopy(result)
    output = tmp_path / "result.xlsx"
    write_result(result, "xlsx", output)
    assert result == original  # the writer does not change its input

    workbook = load_workbook(output)
    assert workbook.sheetnames == ["lines", "explanations", "summary", "departments"]

    lines = workbook["lines"]
    assert [cell.value for cell in lines[1]] == list(LINE_COLUMNS)
    assert lines.freeze_panes == "A2"
    assert lines.column_dimensions["C"].width >= 10
    records = sheet_dicts(lines)
    for record, line in zip(records, result["lines"], strict=True):
        for key in ("requested", "after_policies", "recommended", "allocated_from_pool", "reclaimed"):
            value = record[key]
            assert isinstance(value, int | float) and not isinstance(value, bool), (key, value)
            assert Decimal(repr(value)) == Decimal(line[key]), (key, value)
        assert record["tier"] == line["tier"]
    assert records[1]["name"] == "'=cmd|' /C calc'!A0"
    assert records[2]["name"] == "-80000.00"
    assert records[1]["flags"] == "improvement-required;possible-duplicate"
    money_cell = lines["E2"]
    assert money_cell.number_format == "#,##0.00" and money_cell.data_type == "n"

    explanations = sheet_dicts(workbook["explanations"])
    assert len(explanations) == 5
    cut = explanations[1]
    assert cut["project_id"] == "P002" and cut["policy"] == "cut-inefficient"
    assert Decimal(repr(cut["effect"])) == Decimal("-80000.00")
    assert cut["reason_zh"] == "评价得分70，核减10%"
    superseded = explanations[4]
    assert superseded["outcome"] == "superseded"
    assert superseded["superseded_by"] == "target-review-gate"

    summary = {row["item"]: row for row in sheet_dicts(workbook["summary"])}
    assert Decimal(repr(summary["reserve"]["value"])) == Decimal("12345.67")
    assert summary["reserve"]["label"] == "预留合计 reserve"
    assert summary["count_excluded"]["value"] == 1
    assert len(summary) == 9 + 4

    departments = sheet_dicts(workbook["departments"])
    assert [row["department_id"] for row in departments] == ["D01", "D02"]
    assert Decimal(repr(departments[1]["recommended"])) == Decimal("720000.00")
    assert departments[1]["count_reduced"] == 1
    assert departments[0]["count_reduced"] is None


def test_xlsx_survives_control_characters(tmp_path: Path) -> None:
    result = sample_result()
    result["lines"][0]["name"] = "坏\x00名\x07字"
    output = tmp_path / "result.xlsx"
    write_result(result, "xlsx", output)
    assert load_workbook(output)["lines"]["C2"].value == "坏\ufffd名\ufffd字"
