"""Budget draft pages (编制方案, ``/ui/drafts``): list and create, adjust lines with reasons, submit,
approve or return, the deviation report (偏离建议清单), compare. Thin over :mod:`service.app.drafts`.

Roles are those of ``/v1/drafts``: compilers (预算编制人员) make and adjust, approvers (审核人员, a
different person) approve or return, auditors read. Every form POST carries the CSRF token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from service.app import draft_exports, drafts
from service.app import errors as app_errors
from service.web import i18n
from service.web.exports import _download as download
from service.web.routes import render, shown
from service.web.session import Viewer, WebError, check_csrf, lang_of, need, state_of
from service.web.views import problem_text

router = APIRouter(include_in_schema=False)
BEIJING = ZoneInfo("Asia/Shanghai")
ID = re.compile(r"^[0-9a-f-]{36}$")
PROJECT_ID = re.compile(r"^.{1,64}$", re.DOTALL)
MAKERS = tuple(drafts.MAKERS)
CHECKERS = tuple(drafts.CHECKERS)
READERS = tuple(drafts.READERS)
_STATUS: dict[type[app_errors.AppError], int] = {
    app_errors.NotFound: 404,
    app_errors.Forbidden: 403,
    app_errors.Unauthenticated: 401,
    app_errors.TooLarge: 413,
}


def _words(request: Request) -> Any:
    """The pages' words from the one catalogue (service/web/i18n.py): ``draft_<word>`` where the draft pages
    say it their own way, else the shared word; line statuses and history steps as everywhere else."""
    lang = lang_of(request)

    def w(key: str) -> str:
        if key.startswith("s_"):
            return i18n.term("status", key[2:], lang)
        if key.startswith("ev_"):
            return i18n.action_label(lang, key[3:])
        return i18n.translate(lang, f"draft_{key}" if f"draft_{key}" in i18n.T else key)

    return w


def beijing(value: datetime | None) -> str:
    """A time as a person in the bureau reads it: Beijing time, e.g. 2026年11月29日 14:05."""
    if value is None:
        return ""
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(BEIJING)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    return render(request, template, w=_words(request), bj=beijing, **context)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


@contextmanager
def _app_shown() -> Iterator[None]:
    """The use cases' errors as error pages (the API turns the same errors into JSON)."""
    try:
        with shown():
            yield
    except app_errors.InvalidInput as error:
        details = [problem_text(p) for p in error.problems]
        raise WebError(422, f"{len(details)} problem(s)", details) from None
    except app_errors.AppError as error:
        raise WebError(_STATUS.get(type(error), 409), error.message) from None


async def _form(request: Request, viewer: Viewer) -> Any:
    state = state_of(request)
    form = await request.form(max_files=0, max_fields=20, max_part_size=state.settings.max_body_bytes)
    check_csrf(viewer, form)
    return form


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _draft_id(draft_id: str) -> str:
    if not ID.match(draft_id):
        raise WebError(404, "err_404")
    return draft_id


@router.get("/ui/drafts")
def drafts_page(request: Request) -> HTMLResponse:
    viewer = need(request, READERS)
    state = state_of(request)
    decision_id = request.query_params.get("decision_id", "")
    with _app_shown():
        rows, total = drafts.list_drafts(state.db, viewer.actor, 100, 0, decision_id or None)
    return _page(request, "drafts.html", rows=rows, total=total, decision_id=decision_id, may_make=viewer.may(MAKERS))


@router.post("/ui/drafts")
async def create_draft(request: Request) -> Response:
    viewer = need(request, MAKERS)
    form = await _form(request, viewer)
    state = state_of(request)

    def run() -> str:
        with _app_shown():
            previous = _field(form, "previous_id") or None
            return drafts.create_draft(
                state.db,
                state.settings.audit_secret,
                viewer.actor,
                _field(form, "decision_id"),
                _field(form, "name"),
                previous,
            ).id

    return _redirect(f"/ui/drafts/{await run_in_threadpool(run)}")


@router.get("/ui/drafts/compare")
def compare_page(request: Request) -> HTMLResponse:
    viewer = need(request, READERS)
    state = state_of(request)
    q = request.query_params
    a, b, kind = q.get("a", "").strip(), q.get("b", "").strip(), q.get("kind", "drafts")
    result = None
    if a and b:
        with _app_shown():
            if kind == "recommendations":
                result = drafts.compare_decisions(state.db, viewer.actor, a, b)
            else:
                result = drafts.compare_drafts(state.db, viewer.actor, a, b)
    return _page(request, "draft_compare.html", a=a, b=b, kind=kind, result=result)


@router.get("/ui/drafts/{draft_id}")
def draft_page(request: Request, draft_id: str) -> HTMLResponse:
    viewer = need(request, READERS)
    state = state_of(request)
    with _app_shown():
        draft = drafts.get_draft(state.db, viewer.actor, _draft_id(draft_id))
        replayed = drafts.replay(state.db, viewer.actor, draft.id)
    rows = drafts.deviation_rows(draft.lines)
    editable = draft.state in drafts.EDITABLE and viewer.may(MAKERS)
    return _page(
        request,
        "draft.html",
        draft=draft,
        deviations=rows,
        totals=drafts.deviation_totals(rows),
        editable=editable,
        may_submit=editable,
        may_check=draft.state == drafts.SUBMITTED and viewer.may(CHECKERS),
        may_version=draft.state == drafts.FINAL and viewer.may(MAKERS),
        replayed=replayed,
        policy_title=drafts.policy_title,
        done=request.query_params.get("done", ""),
    )


def _export(request: Request, draft_id: str, fmt: str) -> Any:
    viewer = need(request, READERS)  # the role first, before anything is read
    unit = request.query_params.get("unit", "元")
    if unit not in draft_exports.UNITS:
        raise WebError(404, "err_404")
    with _app_shown():
        return draft_exports.export_draft(state_of(request).db, viewer.actor, _draft_id(draft_id), fmt, unit)


@router.get("/ui/drafts/{draft_id}/export.xlsx")
async def draft_export_xlsx(request: Request, draft_id: str) -> Response:
    """The draft as the Chinese workbook (sheet 偏离建议 with the final amounts)."""
    file = await run_in_threadpool(_export, request, draft_id, "xlsx")
    return download(file.data, file.media_type, file.filename)


@router.get("/ui/drafts/{draft_id}/budget.pdf")
async def draft_budget_pdf(request: Request, draft_id: str) -> Response:
    """The draft's 编制说明 PDF (with the deviation list)."""
    file = await run_in_threadpool(_export, request, draft_id, "pdf")
    return download(file.data, file.media_type, file.filename)


@router.post("/ui/drafts/{draft_id}/lines")
async def adjust_line(request: Request, draft_id: str) -> Response:
    viewer = need(request, MAKERS)
    form = await _form(request, viewer)
    state = state_of(request)
    project_id = _field(form, "project_id")

    def run() -> None:
        with _app_shown():
            drafts.adjust(
                state.db,
                state.settings.audit_secret,
                viewer.actor,
                _draft_id(draft_id),
                project_id,
                _field(form, "amount").replace(",", ""),
                _field(form, "reason"),
            )

    await run_in_threadpool(run)
    return _redirect(f"/ui/drafts/{draft_id}?" + urlencode({"done": "saved"}) + f"#line-{project_id}")


@router.post("/ui/drafts/{draft_id}/{action}")
async def transition(request: Request, draft_id: str, action: str) -> Response:
    roles = {"submit": MAKERS, "approve": CHECKERS, "return": CHECKERS, "version": MAKERS}.get(action)
    if roles is None:
        raise WebError(404, "err_404")
    viewer = need(request, roles)
    form = await _form(request, viewer)
    state = state_of(request)
    secret = state.settings.audit_secret
    comment = _field(form, "comment") or None

    def run() -> str:
        with _app_shown():
            ident = _draft_id(draft_id)
            if action == "submit":
                return drafts.submit(state.db, secret, viewer.actor, ident).id
            if action == "approve":
                return drafts.approve(state.db, secret, viewer.actor, ident, comment).id
            if action == "return":
                return drafts.return_draft(state.db, secret, viewer.actor, ident, comment).id
            current = drafts.get_draft(state.db, viewer.actor, ident)
            name = _field(form, "name") or f"{current.name}（第{current.version + 1}版）"
            return drafts.create_draft(state.db, secret, viewer.actor, current.decision_id, name, current.id).id

    target = await run_in_threadpool(run)
    return _redirect(f"/ui/drafts/{target}")
