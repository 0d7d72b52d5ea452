"""The 编制说明 PDF: read as text (pdftotext), fonts embedded (pdffonts), A4, and a page as an image."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from service.cli import recommend_with_request
from service.report.deviations import DeviationRow
from service.report.pdf import BEIJING, render_budget_html, write_budget_pdf

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "wuding-county-2021.json"

needs_poppler = pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="poppler-utils not installed (python3 dev.py report-tools)"
)


@pytest.fixture(scope="module")
def demo() -> tuple[dict[str, Any], dict[str, Any]]:
    return recommend_with_request(DEMO, engine="plain")


DEVIATION = DeviationRow(
    project_id="P0008",
    project_name="易地扶贫搬迁后续扶持",
    department_id="D039",
    department_name="县乡村振兴局",
    recommended=Decimal("0.00"),
    final=Decimal("1200000.00"),
    difference=Decimal("1200000.00"),
    reason="县委常委会议定事项",
    adjusted_by="王科长",
    adjusted_at=datetime(2026, 11, 29, 6, 5, tzinfo=UTC),
    policies=("项目绩效目标评审",),
    policy_ids=("target-review-gate",),
)


def pdf_text(pdf: Path, *pages: int) -> str:
    args = ["pdftotext", "-layout"]
    if pages:
        args += ["-f", str(pages[0]), "-l", str(pages[-1])]
    return subprocess.run([*args, pdf, "-"], capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory, demo: tuple[dict[str, Any], dict[str, Any]]) -> Path:
    request, result = demo
    output = tmp_path_factory.mktemp("pdf") / "编制说明.pdf"
    write_budget_pdf(result, output, request=request, deviations=[DEVIATION], run_name="2021年初预算第一次测算")
    return output


@needs_poppler
def test_pdf_reads_as_the_budget_document(document: Path, demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, result = demo
    text = pdf_text(document)
    flat = "".join(text.split())
    for heading in (
        "武定县2021年项目支出预算编制说明",
        "一、总体情况",
        "二、分部门情况",
        "三、按政策措施",
        "四、按保障档次",
        "五、保障类支出",
        "六、偏离建议情况",
        "七、项目调整理由及依据",
        "八、依据文件",
    ):
        assert heading in flat, heading
    assert "2021年初预算第一次测算" in flat and "wuding-county" in flat and result["ruleset"]["revision"] in flat
    totals = result["summary"]["totals"]
    assert f"{Decimal(totals['recommended']):,.2f}" in flat
    assert "县委办公室" in flat and "易地扶贫搬迁后续扶持" in flat and "王科长" in flat
    assert "依据：武定县2020年预算绩效管理工作自评报告" in flat  # full citation titles, never keys alone
    assert "财政部中央部门预算绩效目标管理办法（财预〔2015〕88号）第二十五条" in flat
    assert "CY2015-88" not in flat and "WD2020" not in flat
    assert "第1页，共" in flat


@needs_poppler
def test_pdf_is_a4_with_chinese_fonts_embedded(document: Path) -> None:
    info = subprocess.run(["pdfinfo", document], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info
    fonts = subprocess.run(["pdffonts", document], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk)  # embedded


@needs_poppler
def test_a_page_renders_as_an_image(document: Path, tmp_path: Path) -> None:
    """The cover rendered with pdftoppm (looked at by hand: docs/workbooks.md says what it shows)."""
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "2", document, tmp_path / "p"], check=True)
    images = sorted(tmp_path.glob("p-*.png"))
    assert len(images) == 2 and all(image.stat().st_size > 5_000 for image in images)


def test_html_without_deviations_numbers_sections_on(demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    request, result = demo
    html = render_budget_html(result, request=request, now=dt.datetime(2026, 11, 29, 6, 5, tzinfo=dt.UTC))
    assert "偏离建议情况" not in html
    assert "六、项目调整理由及依据" in html and "七、依据文件" in html
    assert "2026年11月29日 14:05" in html  # Beijing time
    assert BEIJING.key == "Asia/Shanghai"


def test_cli_writes_the_pdf(tmp_path: Path) -> None:
    cli = ROOT / ".venv" / "bin" / "budget-rules"
    output = tmp_path / "编制说明.pdf"
    done = subprocess.run(
        [cli, "recommend", DEMO, "--engine", "plain", "--format", "pdf", "--output", output],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert output.read_bytes()[:5] == b"%PDF-"
    missing = subprocess.run([cli, "recommend", DEMO, "--format", "pdf"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "--output" in missing.stderr
