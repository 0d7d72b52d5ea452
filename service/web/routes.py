"""The web pages (``/ui/``): server-rendered Jinja2 templates over the same service layer as the API.

Handlers only read the form, call the use cases of ``service/app/`` (or the helpers of
``service/web/views.py``, which call them) and render. Roles are those of ``service/app/roles.py``:
a button is shown only to a role that may use it, and the POST behind it refuses every other role.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service.app import datasets as datasets
from service.app import decisions as decisions
from service.app import rulesets as rulesets
from service.app import simulations as simulations
from service.app.error_table import http_status
from service.app.errors import AppError, BudgetRulesError, InvalidInput, Unauthenticated
from service.io.readers import InputFileError
from service.policyfiles import DEFAULT_RULESET
from service.simulation.report import REPORT_CSP
from service.storage.db import as_utc
from service.storage.repositories.decisions import DecisionFilter
from service.web import i18n, result_totals, runs, views
from service.web.i18n import LANGS, translate
from service.web.session import (
    ADMINS,
    APPROVERS,
    AUDITORS,
    COMPILER,
    DATASET_READERS,
    DECISION_READERS,
    DRAFT_READERS,
    IMPACT_PREVIEWERS,
    LANG_COOKIE,
    MAINTAINERS,
    RULESET_READERS,
    SIMULATION_READERS,
    SIMULATION_RUNNERS,
    LoginRequired,
    Viewer,
    WebError,
    check_csrf,
    lang_of,
    need,
    state_of,
    viewer_of,
)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# The same policy in a <meta> element too (all but frame-ancestors, which only a header can carry), so the
# pages keep it even when a middleware replaces the Content-Security-Policy header.
META_CSP = PAGE_CSP.replace("frame-ancestors 'none'; ", "")
SECURITY_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
RULESET_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
REVISION = re.compile(r"^[0-9a-f]{12}$")
UUID = re.compile(r"^[0-9a-f-]{36}$")
PAGE_SIZE = 50

router = APIRouter(include_in_schema=False)
env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))


def _money(value: Any) -> str:
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return "" if value is None else str(value)


@pass_context
def _when(context: Any, value: Any) -> str:
    """A moment in the reader's time zone (the ``timezone`` setting, Beijing time by default)."""
    state = context.get("request").app.state.budget_rules if context.get("request") is not None else None
    return i18n.when_text(value, context.get("lang", "zh"), state.settings.timezone if state else "Asia/Shanghai")


env.filters["money"] = _money
env.globals["term"] = i18n.term  # codes in words (GLOSSARY.md): term('flag', code, lang)
env.globals["policy_title"] = result_totals.policy_title
env.globals["parameter_label"] = result_totals.parameter_label
env.globals["error_words"] = i18n.error_words
env.globals["field_label"] = i18n.field_label
env.globals["who"] = i18n.who
env.filters["source"] = i18n.source_text
env.filters["when"] = _when
env.filters["pretty"] = lambda value: json.dumps(value, ensure_ascii=False, indent=2, default=str)


# ------------------------------------------------------------------ rendering and errors


def _nav(viewer: Viewer | None) -> list[tuple[str, str]]:
    if viewer is None:
        return []
    items = [("/ui/", "home")]
    if viewer.may(COMPILER):
        items.append(("/ui/recommend", "recommend"))
        items.append(("/ui/disclosure", "disclosure"))  # issue 15 (service/web/disclosure.py)
    if viewer.may(DECISION_READERS):
        items.append(("/ui/decisions", "decisions"))
    if viewer.may(DRAFT_READERS):
        items.append(("/ui/drafts", "drafts"))  # budget drafts (service/web/drafts.py)
    if viewer.may(AUDITORS):
        items.append(("/ui/audit", "audit"))
    if viewer.may(RULESET_READERS):
        items.append(("/ui/rulesets", "rulesets"))
    if viewer.may(SIMULATION_READERS):
        items.append(("/ui/simulations", "simulations"))
    if viewer.may(ADMINS):
        items.append(("/ui/admin", "admin"))
    if viewer.may(SIMULATION_RUNNERS):
        items.append(("/ui/whatifs", "whatifs"))  # issue 15 (service/web/analyst.py)
    return items


def _switch_url(request: Request, lang: str) -> str:
    other = "en" if lang == "zh" else "zh"
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{request.url.path}?{urlencode([*query, ('lang', other)])}"


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    viewer = viewer_of(request)

    def t(key: str) -> str:
        return translate(lang, key)

    def years(first: int | None, last: int | None) -> str:
        return f"{first}–{last}" if last is not None else f"{first} {t('onwards')}"

    html = env.get_template(template).render(
        request=request,
        years=years,
        meta_csp=META_CSP,
        lang=lang,
        t=t,
        viewer=viewer,
        nav=_nav(viewer),
        here=request.url.path,
        switch_url=_switch_url(request, lang),
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") in LANGS:
        _remember_lang(request, response, lang)
    return response


def _remember_lang(request: Request, response: Response, lang: str) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(
        LANG_COOKIE, lang, max_age=365 * 24 * 3600, path="/", httponly=True, samesite="strict", secure=secure
    )


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


@contextmanager
def shown() -> Iterator[None]:
    """The service layer's errors as error pages (the API turns the same errors into JSON)."""
    try:
        yield
    except Unauthenticated:
        raise LoginRequired() from None
    except (BudgetRulesError, InputFileError) as error:
        raise _web_error(error) from None


def _web_error(error: BudgetRulesError | InputFileError) -> WebError:
    """The error page for a use case's error: the status of service.app.error_table, the problems as lines."""
    status = http_status(error) or 500
    if isinstance(error, AppError):
        return WebError(status, error.message, [str(d.get("message", d)) for d in error.details], code=error.code)
    if isinstance(error, InvalidInput):
        details = [views.problem_text(p) for p in error.problems]
        fields = [str(p.loc[-1]) for p in error.problems if p.loc]
        return WebError(status, f"{len(details)} problem(s)", details, code="invalid_input", fields=fields)
    if isinstance(error, InputFileError):
        message = f"{len(error.problems)} problem(s) in the uploaded file(s)"
        return WebError(status, message, list(error.problems), code="invalid_file")
    return WebError(status, str(error))


def error_page(request: Request, error: WebError) -> HTMLResponse:
    return render(request, "error.html", status=error.status, error=error)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path if request.method == "GET" else "/ui/"
    return _redirect("/ui/login?" + urlencode({"next": target}))


async def _form(request: Request, viewer: Viewer, max_files: int = 0) -> Any:
    state = state_of(request)
    form = await request.form(max_files=max_files, max_fields=50, max_part_size=state.settings.max_body_bytes)
    check_csrf(viewer, form)
    return form


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _int(text: str, name: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise WebError(422, f"{name}: must be a whole number", code="invalid_number", fields=[name]) from None


# ------------------------------------------------------------------ sign-in, home, language


@router.get("/")
def root() -> RedirectResponse:
    return _redirect("/ui/")


@router.get("/ui")
def ui_root() -> RedirectResponse:
    return _redirect("/ui/")


@router.get("/ui/")
def home(request: Request) -> HTMLResponse:
    viewer = viewer_of(request)
    if viewer is None:
        raise LoginRequired()
    return render(request, "home.html")


# ------------------------------------------------------------------ 1. recommend


@router.get("/ui/recommend")
def recommend_page(request: Request) -> HTMLResponse:
    need(request, COMPILER)
    state = state_of(request)
    with shown():
        stored, _ = datasets.list_datasets(state, 100, 0)
        ruleset_ids = views.project_rulesets(state)
    return render(request, "recommend.html", datasets=stored, rulesets=ruleset_ids, default_ruleset=DEFAULT_RULESET)


@router.post("/ui/recommend")
async def recommend(request: Request) -> Response:
    viewer = need(request, COMPILER)
    state = state_of(request)
    form = await _form(request, viewer, max_files=3)
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    files = [(f.filename or "", await f.read()) for f in uploads]
    year = _int(_text(form, "fiscal_year"), "fiscal_year")
    body: dict[str, Any] = {}
    if year is not None:
        body["fiscal_year"] = year
    if envelope := _text(form, "envelope").replace(",", ""):
        body["envelope"] = envelope
    if (ruleset := _text(form, "ruleset")) and ruleset != DEFAULT_RULESET:
        body["ruleset"] = ruleset
    dataset_id = _text(form, "dataset_id")
    if not files and not dataset_id:
        raise WebError(422, "no_file_or_dataset")

    def run() -> str:
        with shown():
            chosen = dataset_id
            if files:
                data, origins, source = datasets.read_uploads(files, year)
                chosen = datasets.import_dataset(state, viewer.actor, data, source, origins).id
            return decisions.recommend_and_record(state, viewer.actor, {"dataset_id": chosen, **body}).id

    decision_id = await run_in_threadpool(run)
    return _redirect(f"/ui/decisions/{decision_id}")


# ------------------------------------------------------------------ 2. decisions and audit


def _date(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise WebError(422, f"{name}: must be a date (YYYY-MM-DD)", code="invalid_date", fields=[name]) from None


@router.get("/ui/decisions")
def decision_list(request: Request) -> HTMLResponse:
    need(request, DECISION_READERS)
    state = state_of(request)
    q = request.query_params
    since, until = _date(q.get("since", ""), "since"), _date(q.get("until", ""), "until")
    zone = ZoneInfo(state.settings.timezone)  # whole days as the reader counts them (Beijing time)
    department, candidates = runs.resolve_department(state, (q.get("department") or "")[:100])
    filters = DecisionFilter(
        as_utc(datetime.combine(since, time(), tzinfo=zone)) if since else None,
        as_utc(datetime.combine(until + timedelta(days=1), time(), tzinfo=zone)) if until else None,
        q.get("actor") or None,
        q.get("ruleset") or None,
        _int(q.get("fiscal_year", ""), "fiscal_year"),
        department,
    )
    offset = max(0, _int(q.get("offset", ""), "offset") or 0)
    with shown():
        rows, total = decisions.list_decisions(state, filters, PAGE_SIZE, offset)
        summaries = runs.describe(state, rows)
        names = runs.department_names(state)
    kept = [(k, v) for k, v in q.multi_items() if k not in ("offset", "lang") and v]
    prev_url = f"?{urlencode([*kept, ('offset', max(0, offset - PAGE_SIZE))])}" if offset > 0 else None
    next_url = f"?{urlencode([*kept, ('offset', offset + PAGE_SIZE)])}" if offset + PAGE_SIZE < total else None
    return render(
        request,
        "decisions.html",
        rows=rows,
        summaries=summaries,
        department_names=sorted(set(names.values())),
        candidates=candidates,
        total=total,
        offset=offset,
        q=q,
        prev_url=prev_url,
        next_url=next_url,
    )


def _decision_page(request: Request, viewer: Viewer, decision_id: str, replay: dict[str, Any] | None) -> HTMLResponse:
    if not UUID.match(decision_id):
        raise WebError(404, "err_404")
    state = state_of(request)
    with shown():
        row = decisions.get_decision(state, decision_id)
    result = json.loads(row.result_json)
    return render(
        request,
        "decision.html",
        row=row,
        result=result,
        input_doc=json.loads(row.input_json),
        table=views.result_table(result),
        totals=result_totals.of(result),
        replay=replay,
        may_replay=viewer.may(AUDITORS),
    )


@router.get("/ui/decisions/{decision_id}")
def decision_page(request: Request, decision_id: str) -> HTMLResponse:
    viewer = need(request, DECISION_READERS)
    return _decision_page(request, viewer, decision_id, None)


@router.post("/ui/decisions/{decision_id}/replay")
async def decision_replay(request: Request, decision_id: str) -> HTMLResponse:
    viewer = need(request, AUDITORS)
    await _form(request, viewer)
    state = state_of(request)
    if not UUID.match(decision_id):
        raise WebError(404, "err_404")

    def run() -> dict[str, Any]:
        with shown():
            report, seq = decisions.replay(state, viewer.actor, decision_id)
        return {**report, "audit_seq": seq}

    report = await run_in_threadpool(run)
    return _decision_page(request, viewer, decision_id, report)


@router.get("/ui/decisions/{decision_id}/result.xlsx")
def decision_xlsx(request: Request, decision_id: str) -> Response:
    need(request, DECISION_READERS)
    if not UUID.match(decision_id):
        raise WebError(404, "err_404")
    with shown():
        row = decisions.get_decision(state_of(request), decision_id)
    from service.io.writers import build_workbook

    buffer = io.BytesIO()
    build_workbook(json.loads(row.result_json)).save(buffer)
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="decision-{decision_id}.xlsx"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# ------------------------------------------------------------------ 3. rulesets


@router.get("/ui/rulesets")
def ruleset_list(request: Request) -> HTMLResponse:
    need(request, RULESET_READERS)
    with shown():
        items = rulesets.overview(state_of(request))
    return render(request, "rulesets.html", items=items)


@router.get("/ui/rulesets/{ruleset_id}")
def revision_list(request: Request, ruleset_id: str) -> HTMLResponse:
    need(request, RULESET_READERS)
    if not RULESET_ID.match(ruleset_id):
        raise WebError(404, "err_404")
    with shown():
        rows = rulesets.list_revisions(state_of(request).db, ruleset_id)
    if not rows:
        raise WebError(404, "err_404")
    return render(request, "revisions.html", ruleset_id=ruleset_id, rows=rows)


def _revision_page(
    request: Request, viewer: Viewer, ruleset_id: str, revision: str, impact: dict[str, Any] | None = None
) -> HTMLResponse:
    if not RULESET_ID.match(ruleset_id) or not REVISION.match(revision):
        raise WebError(404, "err_404")
    state = state_of(request)
    with shown():
        row = rulesets.get_revision(state.db, ruleset_id, revision)
        diff = views.diff_or_none(state, ruleset_id, revision)
        active = [a for a in state.engines.active_revisions(ruleset_id) if a.revision != revision]
        stored = datasets.list_datasets(state, 100, 0)[0] if viewer.may(DATASET_READERS) else None
    return render(
        request,
        "revision.html",
        row=row,
        diff=diff,
        actions=views.revision_actions(viewer.actor.role, row.state),
        active=active,
        may_preview=viewer.may(IMPACT_PREVIEWERS) and row.subject == "project_lines",
        datasets=stored,
        impact=impact,
        done=request.query_params.get("done"),
        content=rulesets.content_of(row),
    )


@router.get("/ui/rulesets/{ruleset_id}/revisions/{revision}")
def revision_page(request: Request, ruleset_id: str, revision: str) -> HTMLResponse:
    viewer = need(request, RULESET_READERS)
    return _revision_page(request, viewer, ruleset_id, revision)


@router.post("/ui/rulesets/{ruleset_id}/revisions/{revision}/impact")
async def revision_impact(request: Request, ruleset_id: str, revision: str) -> HTMLResponse:
    viewer = need(request, IMPACT_PREVIEWERS)
    form = await _form(request, viewer)
    if not RULESET_ID.match(ruleset_id) or not REVISION.match(revision):
        raise WebError(404, "err_404")
    dataset_id = _text(form, "dataset_id")
    if not dataset_id:
        raise WebError(422, "no_file_or_dataset")
    body: dict[str, Any] = {"dataset_id": dataset_id}
    year = _int(_text(form, "fiscal_year"), "fiscal_year")
    if year is not None:
        body["fiscal_year"] = year
    if envelope := _text(form, "envelope").replace(",", ""):
        body["envelope"] = envelope
    state = state_of(request)

    def run() -> dict[str, Any]:
        with shown():
            return rulesets.impact_preview(state, ruleset_id, revision, body, None)

    impact = await run_in_threadpool(run)
    return _revision_page(request, viewer, ruleset_id, revision, impact)


TRANSITION_ROLES = {"propose": MAINTAINERS, "approve": APPROVERS, "activate": APPROVERS, "retire": APPROVERS}


@router.post("/ui/rulesets/{ruleset_id}/revisions/{revision}/{action}")
async def revision_transition(request: Request, ruleset_id: str, revision: str, action: str) -> Response:
    if action not in TRANSITION_ROLES:
        raise WebError(404, "err_404")
    viewer = need(request, TRANSITION_ROLES[action])
    form = await _form(request, viewer)
    if not RULESET_ID.match(ruleset_id) or not REVISION.match(revision):
        raise WebError(404, "err_404")
    state = state_of(request)
    secret = state.settings.audit_secret
    reason = _text(form, "reason")
    years: dict[str, Any] = {}
    if action == "activate":
        if (from_year := _int(_text(form, "from_year"), "from_year")) is not None:
            years["from_year"] = from_year
        if form.get("onwards"):
            years["to_year"] = None
        elif (to_year := _int(_text(form, "to_year"), "to_year")) is not None:
            years["to_year"] = to_year
    replaces = [r for r in form.getlist("replaces") if isinstance(r, str) and REVISION.match(r)]

    def run() -> None:
        with shown():
            if action == "propose":
                rulesets.propose(state.db, secret, viewer.actor, ruleset_id, revision, reason)
            elif action == "approve":
                rulesets.approve(state.db, secret, viewer.actor, ruleset_id, revision, reason)
            elif action == "activate":
                rulesets.activate(
                    state.db, secret, viewer.actor, ruleset_id, revision, reason, years=years, replaces=replaces
                )
                state.engines.refresh()
            else:
                rulesets.retire(state.db, secret, viewer.actor, ruleset_id, revision, reason)
                state.engines.refresh()

    await run_in_threadpool(run)
    return _redirect(f"/ui/rulesets/{ruleset_id}/revisions/{revision}?done={action}")


# ------------------------------------------------------------------ 4. simulations


@router.get("/ui/simulations")
def simulation_list(request: Request) -> HTMLResponse:
    viewer = need(request, SIMULATION_READERS)
    state = state_of(request)
    config = simulations.config_of(request.app.state)
    with shown():
        rows, total = simulations.list_jobs(state, config, None, PAGE_SIZE, 0)
        stored = datasets.list_datasets(state, 100, 0)[0] if viewer.may(SIMULATION_RUNNERS) else []
    return render(
        request,
        "simulations.html",
        rows=rows,
        total=total,
        scenarios=views.shipped_scenarios(),
        datasets=stored,
        may_start=viewer.may(SIMULATION_RUNNERS),
    )


@router.post("/ui/simulations")
async def simulation_start(request: Request) -> Response:
    viewer = need(request, SIMULATION_RUNNERS)
    form = await _form(request, viewer)
    body: dict[str, Any] = {"scenario": _text(form, "scenario")}
    if dataset_id := _text(form, "dataset_id"):
        body["dataset"] = {"dataset_id": dataset_id}
    state = state_of(request)
    config = simulations.config_of(request.app.state)

    def run() -> str:
        with shown():
            return simulations.start(state, config, viewer.actor, body).id

    job_id = await run_in_threadpool(run)
    return _redirect(f"/ui/simulations/{job_id}")


def _job(request: Request, job_id: str) -> Any:
    if not UUID.match(job_id):
        raise WebError(404, "err_404")
    with shown():
        return simulations.get_job(state_of(request), simulations.config_of(request.app.state), job_id)


@router.get("/ui/simulations/{job_id}")
def simulation_page(request: Request, job_id: str) -> HTMLResponse:
    need(request, SIMULATION_READERS)
    row = _job(request, job_id)
    return render(request, "simulation.html", row=row, scenario=json.loads(row.scenario_json))


@router.get("/ui/simulations/{job_id}/progress")
def simulation_progress(request: Request, job_id: str) -> JSONResponse:
    need(request, SIMULATION_READERS)
    row = _job(request, job_id)
    body = {"state": row.state, "done": row.progress_done, "total": row.progress_total, "error": row.error}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/ui/simulations/{job_id}/report")
def simulation_report(request: Request, job_id: str) -> HTMLResponse:
    need(request, SIMULATION_READERS)
    if not UUID.match(job_id):
        raise WebError(404, "err_404")
    with shown():
        row = simulations.finished(state_of(request), simulations.config_of(request.app.state), job_id)
    headers = {"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    return HTMLResponse(row.report_html or "", headers=headers)
