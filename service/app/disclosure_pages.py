"""Disclosure reviews from an uploaded file (issue 15): records in, late disclosures with explanations, export.

A file is JSON (the body of ``POST /v1/disclosure-reviews``, e.g. ``demo/disclosure-2021.json``) or CSV
(UTF-8, first row the field names, in English or Chinese: 部门编码, 部门名称, 预算批复日期, …). The review
is the audited one of the API (``review_and_record``); its export reads the result back from the audit
record, so nothing else is stored.
"""

from __future__ import annotations

import io
import json
from typing import Any

from sqlmodel import col, select

from service.app.errors import InvalidInput, NotFound, Problem, TooLarge
from service.io.readers import read_records_from_csv_text
from service.storage.db import Database
from service.storage.models import AuditRecordRow

MAX_BYTES = 5_000_000
HEADERS = {
    "部门编码": "department_id",
    "部门名称": "name",
    "类型": "kind",
    "预算批复日期": "budget_approved_on",
    "绩效目标公开日期": "targets_disclosed_on",
    "自评报告形成日期": "report_formed_on",
    "自评报告公开日期": "report_disclosed_on",
}
KINDS = {"部门": "department", "乡镇": "township"}
FLAGS = {
    "targets-disclosed-late": ("绩效目标逾期公开", "targets published late"),
    "targets-not-disclosed": ("绩效目标未公开", "targets not published"),
    "report-disclosed-late": ("自评报告逾期公开", "self-evaluation published late"),
    "report-not-disclosed": ("自评报告未公开", "self-evaluation not published"),
}


def flag_words(code: str, lang: str) -> str:
    return FLAGS.get(code, (code, code))[1 if lang == "en" else 0]


def body_from_upload(file_name: str, raw: bytes, fiscal_year: int | None) -> dict[str, Any]:
    """The review request in the file, with the form's fiscal year; InvalidInput naming the file and row."""
    if len(raw) > MAX_BYTES:
        raise TooLarge(f"{file_name}: {len(raw):,} bytes; at most {MAX_BYTES:,}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput([Problem(("file",), f"{file_name}: not UTF-8 text (save the CSV as UTF-8)")]) from None
    lower = file_name.lower()
    if lower.endswith(".json"):
        try:
            body = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidInput([Problem(("file",), f"{file_name}: not valid JSON ({error})")]) from None
        if not isinstance(body, dict):
            raise InvalidInput([Problem(("file",), f"{file_name}: a JSON object with departments is expected")])
    elif lower.endswith(".csv"):
        records, _, problems = read_records_from_csv_text(text, file_name)
        if problems:
            raise InvalidInput([Problem(("file",), p) for p in problems])
        departments = []
        for record in records:
            row = {HEADERS.get(k, k): v for k, v in record.items()}
            if "kind" in row:
                row["kind"] = KINDS.get(row["kind"], row["kind"])
            departments.append(row)
        body = {"departments": departments}
    else:
        raise InvalidInput([Problem(("file",), f"{file_name}: upload a .csv or .json file")])
    if fiscal_year is not None:
        body["fiscal_year"] = fiscal_year
    return body


def stored_review(db: Database, decision_id: str) -> dict[str, Any]:
    """A recorded disclosure review's result, from its audit record."""
    with db.transaction() as session:
        statement = (
            select(AuditRecordRow)
            .where(AuditRecordRow.subject == decision_id)
            .where(col(AuditRecordRow.action) == "disclosure_review")
        )
        row = session.exec(statement).first()
    if row is None:
        raise NotFound(f"no disclosure review {decision_id!r}")
    result: dict[str, Any] = json.loads(row.result_json)
    return result


def workbook_bytes(result: dict[str, Any], lang: str) -> bytes:
    """The review as an Excel workbook: one row per department, late ones first, with the explanations."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    zh = lang != "en"
    book = Workbook()
    sheet = book.active
    sheet.title = "公开审查" if zh else "Disclosure review"
    sheet.append(
        ["部门编码", "部门名称", "结论", "问题", "说明"]
        if zh
        else ["Department", "Name", "Result", "Findings", "Explanation"]
    )
    rows = sorted(result.get("departments") or [], key=lambda d: d.get("status") != "flagged")
    for d in rows:
        flagged = d.get("status") == "flagged"
        status = ("未按时公开" if flagged else "按时公开") if zh else ("late or missing" if flagged else "on time")
        codes = ("、" if zh else "; ").join(flag_words(f.get("code", ""), lang) for f in d.get("flags") or [])
        reasons = "\n".join(e["reason"]["zh" if zh else "en"] for e in d.get("explanations") or [])
        sheet.append([d.get("department_id"), d.get("name"), status, codes, reasons])
    for column, width in zip("ABCDE", (12, 28, 14, 36, 90), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
