"""Downloads of a recorded decision in the bureau's forms: the Chinese workbook and the 编制说明 PDF.

``GET /ui/decisions/{id}/export.xlsx?unit=元|万元``: sheets 汇总, 项目明细, 部门汇总, 解释与依据 and
the request itself (参数/部门/项目), so the file reads back through ``recommend``.
``GET /ui/decisions/{id}/budget.pdf?unit=元|万元``: the budget document for the 预算编制说明.
Both check the role first (compiler or auditor), like the decision page.
``GET /ui/template.xlsx?unit=元|万元``: the import template (compiler or analyst).
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from service.app import decisions
from service.web.routes import UUID, shown
from service.web.session import DECISION_READERS, WebError, need, state_of

router = APIRouter(include_in_schema=False)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _decision(request: Request, decision_id: str, unit: str) -> tuple[dict[str, Any], dict[str, Any]]:
    need(request, DECISION_READERS)
    if not UUID.match(decision_id) or unit not in ("元", "万元"):
        raise WebError(404, "err_404")
    with shown():
        row = decisions.get_decision(state_of(request), decision_id)
    return json.loads(row.input_json), json.loads(row.result_json)


def _download(data: bytes, media_type: str, filename: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/ui/decisions/{decision_id}/export.xlsx")
async def decision_export_xlsx(request: Request, decision_id: str, unit: str = "元") -> Response:
    source, result = _decision(request, decision_id, unit)

    def build() -> bytes:
        from service.io.budget_workbook import build_budget_workbook

        buffer = io.BytesIO()
        build_budget_workbook(result, request=source, unit=unit).save(buffer)
        return buffer.getvalue()

    return _download(await run_in_threadpool(build), XLSX, f"测算结果-{result.get('fiscal_year', '')}.xlsx")


@router.get("/ui/decisions/{decision_id}/budget.pdf")
async def decision_budget_pdf(request: Request, decision_id: str, unit: str = "元") -> Response:
    source, result = _decision(request, decision_id, unit)

    def build() -> bytes:
        from service.report.pdf import render_budget_pdf

        return render_budget_pdf(result, request=source, unit=unit)

    return _download(await run_in_threadpool(build), "application/pdf", "编制说明.pdf")


@router.get("/ui/template.xlsx")
async def import_template(request: Request, unit: str = "元") -> Response:
    """The import template (申报模板) for the people who upload requests."""
    need(request, ("compiler", "analyst"))
    if unit not in ("元", "万元"):
        raise WebError(404, "err_404")

    def build() -> bytes:
        from service.io.template import build_template

        buffer = io.BytesIO()
        build_template(unit).save(buffer)
        return buffer.getvalue()

    return _download(await run_in_threadpool(build), XLSX, "预算申报模板.xlsx")
