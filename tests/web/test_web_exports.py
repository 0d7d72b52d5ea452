"""Downloads of a recorded decision: the Chinese workbook (reads back) and the 编制说明 PDF; roles first."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from service.app import decisions
from service.cli import run_recommendation
from tests.web.signin import browser
from tests.web.test_web_pages import SECRET, decision_id, users  # noqa: F401 - fixtures, and the app's audit secret


def test_export_xlsx_is_chinese_and_reads_back(
    app: FastAPI,
    users: dict[str, str],  # noqa: F811
    decision_id: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    compiler = browser(app, users["compiler"])
    download = compiler.get(f"/ui/decisions/{decision_id}/export.xlsx?unit=万元")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment; filename*=UTF-8''")
    book = load_workbook(io.BytesIO(download.content))
    assert book.sheetnames[:4] == ["汇总", "项目明细", "部门汇总", "解释与依据"]
    assert book["项目明细"]["F1"].value == "申报数（万元）"
    path = tmp_path / "测算结果.xlsx"
    path.write_bytes(download.content)
    recorded = json.loads(decisions.get_decision(app.state.budget_rules, decision_id).result_json)
    again = run_recommendation(path, engine="plain")
    assert again["lines"] == recorded["lines"] and again["summary"] == recorded["summary"]


def test_downloads_check_the_role_first(
    app: FastAPI,
    users: dict[str, str],  # noqa: F811
    decision_id: str,  # noqa: F811
) -> None:
    assert browser(app).get(f"/ui/decisions/{decision_id}/budget.pdf").status_code in (303, 401)
    analyst = browser(app, users["analyst"])
    assert analyst.get(f"/ui/decisions/{decision_id}/budget.pdf").status_code == 403
    assert analyst.get(f"/ui/decisions/{decision_id}/export.xlsx").status_code == 403
    compiler = browser(app, users["compiler"])
    assert compiler.get(f"/ui/decisions/{decision_id}/export.xlsx?unit=斤").status_code == 404


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed (python3 dev.py report-tools)")
def test_budget_pdf_download(
    app: FastAPI,
    users: dict[str, str],  # noqa: F811
    decision_id: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    auditor = browser(app, users["auditor"])
    download = auditor.get(f"/ui/decisions/{decision_id}/budget.pdf")
    assert download.status_code == 200 and download.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "编制说明.pdf"
    pdf.write_bytes(download.content)
    text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout
    assert "项目支出预算编制说明" in text and decision_id in text


def test_import_template_download(
    app: FastAPI,
    users: dict[str, str],  # noqa: F811
) -> None:
    compiler = browser(app, users["compiler"])
    download = compiler.get("/ui/template.xlsx?unit=万元")
    assert download.status_code == 200
    book = load_workbook(io.BytesIO(download.content))
    assert book.sheetnames == ["说明", "参数", "部门", "项目"]
    assert book["项目"]["E1"].value == "申报数（万元）"
    assert browser(app, users["auditor"]).get("/ui/template.xlsx").status_code == 403
