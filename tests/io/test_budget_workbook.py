"""The Chinese xlsx export: sheets, words, 合计, autofilter, print set-up, exact numbers, and it reads back."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from service.cli import recommend_with_request, run_recommendation
from service.io.budget_workbook import build_budget_workbook
from service.report.deviations import DeviationRow

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "wuding-county-2021.json"
CLI = ROOT / ".venv" / "bin" / "budget-rules"


@pytest.fixture(scope="module")
def demo() -> tuple[dict[str, Any], dict[str, Any]]:
    return recommend_with_request(DEMO, engine="plain")


def deviation_rows() -> list[DeviationRow]:
    return [
        DeviationRow(
            project_id="P0008",
            project_name="易地扶贫搬迁后续扶持",
            department_id="D039",
            department_name="县乡村振兴局",
            recommended=Decimal("0.00"),
            final=Decimal("1200000.00"),
            difference=Decimal("1200000.00"),
            reason="县委常委会议定事项，保障搬迁群众后续产业",
            adjusted_by="王科长",
            adjusted_at=datetime(2026, 11, 29, 6, 5, tzinfo=UTC),
            policies=("项目绩效目标评审",),
            policy_ids=("target-review-gate",),
        ),
        DeviationRow(
            project_id="B-D001-GY",
            project_name="县委办公室公用经费",
            department_id="D001",
            department_name="县委办公室",
            recommended=Decimal("378750.27"),
            final=Decimal("383700.00"),
            difference=Decimal("4949.73"),
            reason="按上年标准安排",
            adjusted_by="李股长",
            adjusted_at=datetime(2026, 11, 29, 7, 20, tzinfo=UTC),
            policies=("公用经费绩效",),
            policy_ids=("public-funds-performance",),
        ),
    ]


def without_id(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key != "decision_id"}


@pytest.mark.parametrize("unit", ["元", "万元"])
def test_export_reads_back_to_the_same_result(
    tmp_path: Path, demo: tuple[dict[str, Any], dict[str, Any]], unit: str
) -> None:
    request, result = demo
    path = tmp_path / "测算结果.xlsx"
    build_budget_workbook(result, request=request, unit=unit, deviations=deviation_rows()).save(path)
    assert without_id(run_recommendation(path, engine="plain")) == without_id(result)


def test_sheets_words_totals_and_exact_numbers(tmp_path: Path, demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    request, result = demo
    path = tmp_path / "测算结果.xlsx"
    build_budget_workbook(result, request=request, deviations=deviation_rows()).save(path)
    book = load_workbook(path)
    assert book.sheetnames == ["汇总", "项目明细", "部门汇总", "解释与依据", "偏离建议", "参数", "部门", "项目"]
    lines = book["项目明细"]
    header = [c.value for c in lines[1]]
    assert header[:8] == [
        "项目编码",
        "项目名称",
        "单位编码",
        "单位名称",
        "支出类型",
        "申报数（元）",
        "政策调整后（元）",
        "建议数（元）",
    ]
    first = [c.value for c in lines[2]]
    assert first[2:5] == ["D001", "县委办公室", "公用经费"]  # department name beside its code
    statuses = {row[10].value for row in lines.iter_rows(min_row=2, max_row=len(result["lines"]) + 1)}
    assert statuses <= {"全额安排", "核减", "不予纳入", "取消"}
    total = [c.value for c in lines[len(result["lines"]) + 2]]
    assert total[0] == "合计"
    assert Decimal(str(total[7])) == Decimal(result["summary"]["totals"]["recommended"])
    assert lines.auto_filter.ref == f"A1:N{len(result['lines']) + 1}"
    assert lines["F2"].number_format == "#,##0.00"
    # exact decimal text in the file, never a float's 16 digits
    sheet_xml = zipfile.ZipFile(path).read("xl/worksheets/sheet2.xml").decode()
    assert f"<v>{result['summary']['totals']['recommended']}</v>" in sheet_xml
    flags = {row[12].value for row in lines.iter_rows(min_row=2, max_row=len(result["lines"]) + 1)} - {None, ""}
    assert flags and not any("-" in str(f) for f in flags)  # GLOSSARY words, never codes
    departments = book["部门汇总"]
    assert [c.value for c in departments[1]][:4] == ["单位编码", "单位名称", "项目数", "申报数（元）"]
    explanations = book["解释与依据"]
    citations = [row[7].value for row in explanations.iter_rows(min_row=2)]
    assert any(str(c).startswith("武定县2020年预算绩效管理工作自评报告") for c in citations)
    assert not any(str(c).startswith("WD2020 ") for c in citations)
    deviations = book["偏离建议"]
    assert [c.value for c in deviations[2]][:3] == ["P0008", "易地扶贫搬迁后续扶持", "D039"]
    assert deviations["A4"].value == "合计"
    assert Decimal(str(deviations["G4"].value)) == Decimal("1204949.73")


def test_print_setup_on_every_table_sheet(tmp_path: Path, demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, result = demo
    path = tmp_path / "r.xlsx"
    build_budget_workbook(result, deviations=deviation_rows()).save(path)
    book = load_workbook(path)
    assert book.sheetnames == ["汇总", "项目明细", "部门汇总", "解释与依据", "偏离建议"]
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert str(sheet.page_setup.paperSize) == "9", sheet.title  # A4
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == "$1:$1"
        assert "2021年度项目预算测算结果" in sheet.oddHeader.center.text
        assert "&P" in sheet.oddFooter.center.text and "&N" in sheet.oddFooter.center.text


def test_wan_yuan_option(tmp_path: Path, demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, result = demo
    path = tmp_path / "r.xlsx"
    build_budget_workbook(result, unit="万元").save(path)
    lines = load_workbook(path)["项目明细"]
    assert lines["F1"].value == "申报数（万元）"
    assert Decimal(str(lines["F2"].value)) == Decimal(result["lines"][0]["requested"]) / 10000
    assert lines["F2"].number_format == "#,##0.0000##"


def test_cli_headers_en_keeps_the_machine_variant(tmp_path: Path) -> None:
    zh, en = tmp_path / "zh.xlsx", tmp_path / "en.xlsx"
    for out, headers in ((zh, "zh"), (en, "en")):
        done = subprocess.run(
            [CLI, "recommend", DEMO, "--engine", "plain", "--format", "xlsx", "--headers", headers, "--output", out],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    assert load_workbook(zh).sheetnames[:4] == ["汇总", "项目明细", "部门汇总", "解释与依据"]
    assert load_workbook(en).sheetnames == ["lines", "explanations", "summary", "departments"]


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice not installed (python3 dev.py report-tools)")
def test_export_prints_a4_landscape_with_the_header_row_on_every_page(
    tmp_path: Path, demo: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """LibreOffice → PDF → text and image: every page of 项目明细 is A4 landscape and starts with the header."""
    _, result = demo
    book = build_budget_workbook(result)
    for title in list(book.sheetnames):
        if title != "项目明细":
            del book[title]
    path = tmp_path / "项目明细.xlsx"
    book.save(path)
    profile = tmp_path / "lo-profile"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    pdf = tmp_path / "项目明细.pdf"
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= 2
    size = next(line for line in info.splitlines() if line.startswith("Page size:")).split()
    width, height = float(size[2]), float(size[4])
    assert "(A4)" in info and width > height  # A4 landscape
    for page in range(1, pages + 1):
        text = subprocess.run(
            ["pdftotext", "-f", str(page), "-l", str(page), "-layout", pdf, "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "项目编码" in text and "建议数（元）" in text, page  # the header row repeats
        assert f"第 {page} 页，共 {pages} 页" in text
    assert "合计" in text
    image = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "2", "-l", "2", pdf, image], check=True, timeout=60)
    rendered = sorted(tmp_path.glob("page*.png"))
    assert rendered and rendered[0].stat().st_size > 10_000


def test_export_json_request_is_what_was_validated(demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    request, _ = demo
    source = json.loads(DEMO.read_text(encoding="utf-8"))
    assert len(request["projects"]) == len(source["projects"])
    assert request["projects"][0]["requested"] == source["projects"][0]["requested"]
