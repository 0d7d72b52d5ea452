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

WORDS: dict[str, tuple[str, str]] = {
    "drafts": ("编制方案", "Budget drafts"),
    "draft": ("编制方案", "Budget draft"),
    "new_draft": ("新建编制方案", "New budget draft"),
    "new_draft_help": (
        "由一次已记录的测算结果（建议方案）生成编制方案；人工调整须说明原因，建议数本身不会改变。",
        "A draft is made from one recorded recommendation; every adjustment needs a reason, and the "
        "recommendation itself never changes.",
    ),
    "decision_id": ("测算结果编号", "Recommendation id"),
    "name": ("方案名称", "Name"),
    "name_example": ("例如：2021年年初预算 第一稿", "e.g. 2021 budget, first draft"),
    "create": ("生成编制方案", "Create the draft"),
    "version": ("版本", "Version"),
    "state": ("状态", "State"),
    "state_editing": ("编制中", "editing"),
    "state_submitted": ("待审核", "submitted"),
    "state_returned": ("已退回", "returned"),
    "state_final": ("定稿", "final"),
    "recommended_total": ("建议数合计", "Recommended total"),
    "final_total": ("定稿数合计", "Final total"),
    "envelope": ("财力可安排数", "Envelope"),
    "over_envelope": ("超出财力可安排数", "Over the envelope by"),
    "lines": ("项目明细", "Lines"),
    "project": ("项目", "Project"),
    "department": ("部门", "Department"),
    "status": ("建议状态", "Recommendation status"),
    "recommended": ("建议数（元）", "Recommended (yuan)"),
    "final": ("定稿数（元）", "Final (yuan)"),
    "difference": ("差额（元）", "Difference (yuan)"),
    "reason": ("调整原因", "Reason"),
    "reason_required": ("调整原因（必填）", "Reason (required)"),
    "adjusted_by": ("调整人", "Adjusted by"),
    "adjusted_at": ("调整时间", "Adjusted at"),
    "adjust": ("人工调整", "Adjust"),
    "amount": ("调整后金额（元）", "Final amount (yuan)"),
    "policies": ("建议依据的政策", "Policies behind the recommendation"),
    "deviations": ("偏离建议清单", "Deviation report"),
    "no_deviations": ("定稿数与建议数一致，没有偏离。", "Every final amount equals the recommendation."),
    "up": ("调增", "Up"),
    "down": ("调减", "Down"),
    "net": ("净额", "Net"),
    "count": ("项数", "Lines"),
    "by_department": ("按部门", "By department"),
    "actions": ("操作", "Actions"),
    "submit": ("提交审核", "Submit for approval"),
    "approve": ("审核通过（定稿）", "Approve (final)"),
    "return": ("退回", "Return"),
    "comment": ("审核意见", "Comment"),
    "comment_required": ("退回意见（必填）", "Why it is returned (required)"),
    "new_version": ("生成新版本", "Make a new version"),
    "new_version_help": (
        "定稿不可修改；如需调整，请生成新版本（带入本版的人工调整）。",
        "A final draft cannot change; make a new version (it carries this version's adjustments).",
    ),
    "maker_checker": (
        "审核人员须与编制、调整、提交该方案的人员不同。",
        "The approver must be a different person from whoever made, adjusted or submitted the draft.",
    ),
    "history": ("操作记录", "History"),
    "action": ("操作", "Action"),
    "by": ("操作人", "By"),
    "time": ("时间", "Time"),
    "ev_draft-create": ("生成", "created"),
    "ev_draft-adjust": ("人工调整", "adjusted"),
    "ev_draft-submit": ("提交审核", "submitted"),
    "ev_draft-return": ("退回", "returned"),
    "ev_draft-approve": ("审核通过", "approved"),
    "compare": ("比较", "Compare"),
    "compare_help": (
        "比较两个编制方案的定稿数，或两次测算结果的建议数：列出不同的项目和合计。",
        "Compare two drafts' final amounts, or two recommendations: the lines and totals that differ.",
    ),
    "compare_drafts": ("两个编制方案", "Two drafts"),
    "compare_recommendations": ("两次测算结果", "Two recommendations"),
    "a": ("甲", "A"),
    "b": ("乙", "B"),
    "same": ("两者一致。", "They are the same."),
    "replay": ("复核重算", "Replay"),
    "reproduced": ("可由审计链复核重算，数字一致。", "Reproduced from the audit trail: the figures match."),
    "not_reproduced": ("复核重算不一致：", "Does not reproduce:"),
    "no_drafts": ("还没有编制方案。", "No drafts yet."),
    "created_by": ("编制人", "Made by"),
    "open": ("打开", "Open"),
    "yuan": ("元", " yuan"),
    "s_funded": ("全额安排", "funded"),
    "s_reduced": ("核减", "reduced"),
    "s_excluded": ("不予纳入", "excluded"),
    "s_cancelled": ("取消", "cancelled"),
    "saved": ("已保存。", "Saved."),
    "downloads": ("下载", "Downloads"),
    "download_xlsx": ("下载编制方案（Excel）", "Download the draft (Excel)"),
    "download_pdf": ("下载编制说明（PDF）", "Download the budget document (PDF)"),
    "unit": ("金额单位", "Unit"),
    "downloads_help": (
        "文件中注明哪些是规则测算的建议数、哪些是编制方案的定稿数，以及方案是否已定稿；"
        "偏离建议清单在 Excel 的“偏离建议”工作表和编制说明的“偏离建议情况”部分。",
        "The files say which figures are the recommendation and which the final amounts, and whether the "
        "draft is final; the deviation report is sheet 偏离建议 in Excel and the 偏离建议情况 section of the PDF.",
    ),
}


def _words(request: Request) -> Any:
    lang = lang_of(request)

    def w(key: str) -> str:
        pair = WORDS.get(key)
        if pair is None:
            return key
        return pair[1] if lang == "en" else pair[0]

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
