"""Exports of a budget draft (编制方案): the Chinese workbook and the 编制说明 PDF with the 偏离建议清单.

The recommendation's result and request come from the draft's recorded decision; the final amounts
(定稿数) and the deviations from the draft. The files say which figures are the rules' recommendation
(建议数) and which the final amounts, and whether the draft is final (定稿) yet. The CLI
(``budget-rules draft export``), the API (``/v1/drafts/{id}/export.xlsx``, ``…/budget.pdf``) and the
draft page all call :func:`export_draft`; the role is checked before anything is read.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from service import audit
from service.app import drafts
from service.app.errors import InvalidInput, NotFound, Problem
from service.report.deviations import DeviationRow, DraftHeading
from service.storage import drafts as store
from service.storage.db import Database

FORMATS = ("xlsx", "pdf")
UNITS = ("元", "万元")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MEDIA_TYPE = "application/pdf"


@dataclass(frozen=True, slots=True)
class DraftSource:
    """Everything an export of a draft is made from."""

    request: dict[str, Any]
    result: dict[str, Any]
    deviations: list[DeviationRow]
    heading: DraftHeading


@dataclass(frozen=True, slots=True)
class ExportFile:
    data: bytes
    media_type: str
    filename: str


def draft_source(db: Database, actor: audit.Actor, draft_id: str) -> DraftSource:
    """The draft's recorded decision (request and result), its deviation rows and its heading."""
    draft = drafts.get_draft(db, actor, draft_id)  # checks the role (DRAFT_READERS) first
    with db.transaction() as session:
        decision = store.decision(session, draft.decision_id)
        if decision is None:
            raise NotFound(f"no recorded recommendation {draft.decision_id!r} (测算结果不存在)")
        request, result = json.loads(decision.input_json), json.loads(decision.result_json)
    result = {**result, "decision_id": draft.decision_id}
    return DraftSource(request, result, drafts.deviation_rows(draft.lines), drafts.heading(draft))


def _check(fmt: str, unit: str) -> None:
    problems = []
    if fmt not in FORMATS:
        problems.append(Problem(("format",), f"must be xlsx or pdf, not {fmt!r} (导出格式只能是 xlsx 或 pdf)"))
    if unit not in UNITS:
        problems.append(Problem(("unit",), f"must be 元 or 万元, not {unit!r} (金额单位只能是 元 或 万元)"))
    if problems:
        raise InvalidInput(problems)


def export_draft(db: Database, actor: audit.Actor, draft_id: str, fmt: str, unit: str = "元") -> ExportFile:
    """The draft as an xlsx workbook (with sheet 偏离建议) or the 编制说明 PDF (with the deviation list)."""
    _check(fmt, unit)
    source = draft_source(db, actor, draft_id)
    stem = f"{source.heading.name}-第{source.heading.version}版"
    if fmt == "xlsx":
        from service.io.budget_workbook import build_budget_workbook

        buffer = io.BytesIO()
        build_budget_workbook(
            source.result, request=source.request, unit=unit, deviations=source.deviations, draft=source.heading
        ).save(buffer)
        return ExportFile(buffer.getvalue(), XLSX_MEDIA_TYPE, f"{stem}.xlsx")
    from service.report.pdf import render_budget_pdf

    data = render_budget_pdf(
        source.result,
        request=source.request,
        deviations=source.deviations,
        unit=unit,
        run_name=f"编制方案 {source.heading.name}（第{source.heading.version}版）",
        draft=source.heading,
    )
    return ExportFile(data, PDF_MEDIA_TYPE, f"{stem}-编制说明.pdf")
