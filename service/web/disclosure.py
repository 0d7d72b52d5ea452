"""The disclosure review page (issue 15): upload disclosure records, see late ones with explanations, export.

GET  /ui/disclosure                       the upload form
POST /ui/disclosure                       review the file (audited, ruleset disclosure-compliance)
GET  /ui/disclosure/{decision_id}         the result: late or missing disclosures first, with explanations
GET  /ui/disclosure/{decision_id}.xlsx    the result as a workbook
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service.app import disclosure_pages as disclosure
from service.app import rulesets
from service.web.maintainer import app_shown, redirect, text
from service.web.routes import UUID, render, shown
from service.web.session import COMPILER, WebError, check_csrf, lang_of, need, state_of

router = APIRouter(include_in_schema=False)


@router.get("/ui/disclosure")
def disclosure_page(request: Request) -> HTMLResponse:
    need(request, COMPILER)
    return render(request, "disclosure.html", result=None)


@router.post("/ui/disclosure")
async def disclosure_upload(request: Request) -> Response:
    viewer = need(request, COMPILER)
    state = state_of(request)
    form = await request.form(max_files=1, max_fields=10, max_part_size=state.settings.max_body_bytes)
    check_csrf(viewer, form)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise WebError(422, "no_file_or_dataset")
    raw = await upload.read(disclosure.MAX_BYTES + 1)
    year_text = text(form, "fiscal_year")
    year = int(year_text) if year_text.isdigit() else None
    name = upload.filename

    def run() -> str:
        body = app_shown(disclosure.body_from_upload, name, raw, year)
        with shown():
            result, _ = rulesets.review_and_record(state, viewer.actor, body)
        return str(result["decision_id"])

    decision_id = await run_in_threadpool(run)
    return redirect(f"/ui/disclosure/{decision_id}")


def _result(request: Request, decision_id: str) -> dict[str, Any]:
    if not UUID.match(decision_id):
        raise WebError(404, "err_404")
    result: dict[str, Any] = app_shown(disclosure.stored_review, state_of(request).db, decision_id)
    return result


@router.get("/ui/disclosure/{decision_id}.xlsx")
def disclosure_export(request: Request, decision_id: str) -> Response:
    need(request, COMPILER)
    result = _result(request, decision_id)
    return Response(
        disclosure.workbook_bytes(result, lang_of(request)),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="disclosure-review-{decision_id}.xlsx"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/ui/disclosure/{decision_id}")
def disclosure_result(request: Request, decision_id: str) -> HTMLResponse:
    need(request, COMPILER)
    result = _result(request, decision_id)
    lang = lang_of(request)
    departments = result.get("departments") or []
    late = [
        {**d, "findings": [disclosure.flag_words(f.get("code", ""), lang) for f in d.get("flags") or []]}
        for d in departments
        if d.get("status") == "flagged"
    ]
    return render(
        request,
        "disclosure.html",
        result=result,
        late=late,
        on_time=len(departments) - len(late),
        decision_id=decision_id,
    )
