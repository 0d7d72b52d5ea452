"""The maintainer's and the approver's pages (issue 15): parameter form, review, return with a comment, history.

    GET  /ui/rulesets/{id}/edit?base=REV                 the parameter form (maintainer)
    POST /ui/rulesets/{id}/edit                          a new revision from the form (proposed, or a draft)
    GET  /ui/rulesets/{id}/revisions/{rev}/review        reason → diff in business words → impact → decide
    POST /ui/rulesets/{id}/revisions/{rev}/review/{act}  approve | return | activate (approver), propose (maintainer)
    GET  /ui/rulesets/{id}/history                       every revision: who proposed, approved, activated, why

Handlers read the form, call ``service.app.ruleset_forms`` and render; each checks its role first.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from service.app import errors as app_errors
from service.app import ruleset_forms as forms
from service.app import rulesets
from service.domain.policy import check_parameter_value
from service.storage.db import as_utc
from service.web import i18n
from service.web.routes import REVISION, RULESET_ID, env, render, shown
from service.web.session import (
    APPROVERS,
    IMPACT_PREVIEWERS,
    MAINTAINERS,
    RULESET_READERS,
    Viewer,
    WebError,
    check_csrf,
    lang_of,
    need,
    state_of,
)

router = APIRouter(include_in_schema=False)
MAX_FIELDS = 400
BEIJING = ZoneInfo("Asia/Shanghai")


def delta(after: Any, before: Any) -> str:
    """``+50,000.00`` / ``−50,000.00`` / ``0.00``: the change between two amounts, with separators."""
    try:
        change = Decimal(str(after)) - Decimal(str(before))
    except ArithmeticError:
        return ""
    if change == 0:
        return "0.00"
    return f"{'+' if change > 0 else '−'}{abs(change):,.2f}"


def beijing(value: Any, lang: str = "zh") -> str:
    """A stored UTC time (datetime or ISO text) in Beijing time: ``2026年11月29日 14:05``."""
    if value is None or value == "":
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = as_utc(when).astimezone(BEIJING)
    if lang == "en":
        return local.strftime("%Y-%m-%d %H:%M (Beijing)")
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


env.globals["delta"] = delta
env.globals["beijing"] = beijing
env.globals["wan"] = lambda value: f"{Decimal(str(value)) / 10000:,.4f}"  # 万元, four decimals (GLOSSARY.md)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


async def read_form(request: Request, viewer: Viewer) -> Any:
    state = state_of(request)
    form = await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=state.settings.max_body_bytes)
    check_csrf(viewer, form)
    return form


def text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def app_shown(call: Any, *args: Any, **kwargs: Any) -> Any:
    """A use case's errors as error pages (``service.app.errors`` and the domain's)."""
    with shown():
        try:
            return call(*args, **kwargs)
        except app_errors.AppError as error:
            status = {"not_found": 404, "forbidden": 403, "payload_too_large": 413}.get(type(error).code, 409)
            raise WebError(status, error.message, [str(d.get("message", d)) for d in error.details]) from None


def check_ids(ruleset_id: str, revision: str | None = None) -> None:
    if not RULESET_ID.match(ruleset_id) or (revision is not None and not REVISION.match(revision)):
        raise WebError(404, "err_404")


# ------------------------------------------------------------------ the parameter form


def default_base(request: Request, ruleset_id: str) -> str:
    """The revision active for the latest years (what a change usually starts from), else the newest."""
    state = state_of(request)
    active = sorted(state.engines.active_revisions(ruleset_id), key=lambda a: a.years.from_year)
    if active:
        return active[-1].revision
    rows = app_shown(rulesets.list_revisions, state.db, ruleset_id)
    if not rows:
        raise WebError(404, "err_404")
    return str(rows[-1].revision)


def field_problem(lang: str, field: forms.ParamField, raw: str) -> tuple[Any, str | None]:
    """The typed value in the parameter's terms, or a message in the reader's language (limits as checked)."""
    words = i18n.T
    i = 1 if lang == "en" else 0
    if not raw and field.type not in ("boolean", "choice_list"):
        return None, words["err_required"][i]
    try:
        value = forms.parse_shown(field.spec, raw)
    except ValueError:
        return None, words["err_whole" if field.type == "integer" else "err_number"][i]
    try:
        check_parameter_value(field.spec, value)
    except ValueError:
        unit = field.unit[i]
        if field.type == "money" and isinstance(value, Decimal) and value != value.quantize(Decimal("0.01")):
            return None, words["err_fen"][i]
        if field.type in ("choice", "choice_list"):
            return None, words["err_choice"][i]
        low = field.low if field.low is not None else "…"
        high = field.high if field.high is not None else "…"
        return (
            None,
            f"{words['err_range'][i]}（{low}–{high}{unit}）"
            if i == 0
            else f"{words['err_range'][i]} ({low}–{high} {unit})",
        )
    return value, None


def checked_boxes(form: Any, key: str) -> str:
    """A choice list's checked boxes as the form shows them (codes joined with commas); the hidden empty
    field under the same name says the list was sent even when nothing is checked."""
    return ",".join(v.strip() for v in form.getlist(key) if isinstance(v, str) and v.strip())


def form_body(lang: str, form: Any, view: forms.RulesetForm) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The request body the use case takes, every field's problem, and what was typed (to show it again)."""
    parameters: dict[str, dict[str, Any]] = {}
    enabled: dict[str, bool] = {}
    problems: dict[str, str] = {}
    typed: dict[str, str] = {}
    for policy in view.policies:
        on = form.get(f"on:{policy.id}") is not None
        if on != policy.enabled:
            enabled[policy.id] = on
        typed[f"on:{policy.id}"] = "1" if on else ""
        for field in policy.params:
            key = f"p:{policy.id}:{field.name}"
            if form.get(key) is None:  # not sent: unchanged (an empty field is a problem)
                continue
            raw = checked_boxes(form, key) if field.type == "choice_list" else text(form, key)
            typed[key] = raw
            if raw == field.shown:
                continue
            value, problem = field_problem(lang, field, raw)
            if problem is not None:
                problems[key] = problem
            else:
                parameters.setdefault(policy.id, {})[field.name] = (
                    value if isinstance(value, bool | list) else str(value)
                )
    return (
        {"base": view.base, "parameters": parameters, "enabled": enabled, "reason": text(form, "reason")},
        problems,
        typed,
    )


def render_form(
    request: Request,
    view: forms.RulesetForm,
    *,
    status: int = 200,
    problems: dict[str, str] | None = None,
    general: list[str] | None = None,
    typed: dict[str, str] | None = None,
    reason: str = "",
) -> HTMLResponse:
    i = 1 if lang_of(request) == "en" else 0
    sep = ": " if i else "："
    labels = {"reason": i18n.T["why_made"][i]}
    for p in view.policies:
        labels[f"on:{p.id}"] = p.title[i]
        for f in p.params:
            labels[f"p:{p.id}:{f.name}"] = f"{p.title[i]}{sep}{f.label[i]}"
    return render(
        request,
        "param_form.html",
        labels=labels,
        sep=sep,
        status=status,
        view=view,
        problems=problems or {},
        general=general or [],
        typed=typed,
        reason=reason,
    )


@router.get("/ui/rulesets/{ruleset_id}/edit")
def edit_page(request: Request, ruleset_id: str) -> HTMLResponse:
    need(request, MAINTAINERS)
    check_ids(ruleset_id)
    base = request.query_params.get("base") or default_base(request, ruleset_id)
    check_ids(ruleset_id, base)
    view = app_shown(forms.form_of, state_of(request).db, ruleset_id, base)
    return render_form(request, view)


def problem_key(problem: app_errors.Problem) -> str | None:
    loc = problem.loc
    if len(loc) == 3 and loc[0] == "parameters":
        return f"p:{loc[1]}:{loc[2]}"
    if len(loc) == 2 and loc[0] == "enabled":
        return f"on:{loc[1]}"
    if loc == ("reason",):
        return "reason"
    return None


@router.post("/ui/rulesets/{ruleset_id}/edit")
async def edit_submit(request: Request, ruleset_id: str) -> Response:
    viewer = need(request, MAINTAINERS)
    form = await read_form(request, viewer)
    check_ids(ruleset_id)
    base = text(form, "base")
    check_ids(ruleset_id, base)
    state = state_of(request)
    lang = lang_of(request)
    view = await run_in_threadpool(app_shown, forms.form_of, state.db, ruleset_id, base)
    body, problems, typed = form_body(lang, form, view)
    i = 1 if lang == "en" else 0
    if not body["reason"]:
        problems["reason"] = i18n.T["err_required"][i]
    if problems:
        return render_form(request, view, status=422, problems=problems, typed=typed, reason=body["reason"])
    propose = text(form, "submit") != "draft"

    def run() -> tuple[Any, dict[str, str], list[str]]:
        try:
            row = forms.create_from_parameters(
                state.db, state.settings.audit_secret, viewer.actor, ruleset_id, body, propose=propose
            )
            return row, {}, []
        except app_errors.InvalidInput as error:
            placed: dict[str, str] = {}
            general: list[str] = []
            for p in error.problems:
                key = problem_key(p)
                if key is not None:
                    placed[key] = p.message
                elif p.loc == ("parameters",) and p.message.startswith("nothing changes"):
                    general.append(i18n.T["err_nothing"][i])
                else:
                    general.append(f"{'.'.join(str(x) for x in p.loc)}: {p.message}" if p.loc else p.message)
            return None, placed, general
        except app_errors.Conflict as error:
            if error.code == "revision_exists":
                return None, {}, [f"{i18n.T['err_exists'][i]}: {error.message}"]
            raise

    row, placed, general = await run_in_threadpool(lambda: app_shown(run))
    if row is None:
        return render_form(
            request, view, status=422, problems=placed, general=general, typed=typed, reason=body["reason"]
        )
    return redirect(f"/ui/rulesets/{ruleset_id}/revisions/{row.revision}/review?done=created")


# ------------------------------------------------------------------ review


def review_context(request: Request, viewer: Viewer, ruleset_id: str, revision: str) -> dict[str, Any]:
    state = state_of(request)
    review = app_shown(forms.review, state.db, ruleset_id, revision)
    row = review.row
    q = request.query_params
    impact = None
    choices: list[forms.DatasetChoice] = []
    chosen = None
    impact_error = None
    if viewer.may(IMPACT_PREVIEWERS) and row.subject == "project_lines":
        choices = app_shown(forms.dataset_choices, state.db)
        year_text = q.get("fiscal_year", "")
        year = int(year_text) if year_text.isdigit() and len(year_text) == 4 else None
        if year is None:
            years = sorted(
                {d.fiscal_year for d in choices if d.fiscal_year is not None and d.fiscal_year >= row.file_from_year}
            )
            year = years[-1] if years else None
        dataset_id = q.get("dataset") or None
        chosen = app_shown(forms.pick_dataset, choices, year, dataset_id)
        if chosen is not None:
            try:
                impact = app_shown(forms.impact_summary, state, ruleset_id, revision, review.replaced, chosen)
            except WebError as error:
                impact_error = error.message
    actions = []
    if viewer.may(APPROVERS):
        if row.state == "proposed":
            actions += ["approve", "return"]
        if row.state == "approved":
            actions.append("activate")
    if viewer.may(MAINTAINERS) and row.state == "draft":
        actions.append("propose")
    active = [a for a in state.engines.active_revisions(ruleset_id) if a.revision != revision]
    return {
        "review": review,
        "row": row,
        "impact": impact,
        "impact_error": impact_error,
        "choices": choices,
        "chosen": chosen,
        "actions": actions,
        "active": active,
        "may_revise": viewer.may(MAINTAINERS),
        "done": q.get("done"),
    }


@router.get("/ui/rulesets/{ruleset_id}/revisions/{revision}/review")
def review_page(request: Request, ruleset_id: str, revision: str) -> HTMLResponse:
    viewer = need(request, RULESET_READERS)
    check_ids(ruleset_id, revision)
    return render(request, "review.html", **review_context(request, viewer, ruleset_id, revision))


REVIEW_ROLES = {"approve": APPROVERS, "return": APPROVERS, "activate": APPROVERS, "propose": MAINTAINERS}


@router.post("/ui/rulesets/{ruleset_id}/revisions/{revision}/review/{action}")
async def review_action(request: Request, ruleset_id: str, revision: str, action: str) -> Response:
    if action not in REVIEW_ROLES:
        raise WebError(404, "err_404")
    viewer = need(request, REVIEW_ROLES[action])
    form = await read_form(request, viewer)
    check_ids(ruleset_id, revision)
    state = state_of(request)
    secret = state.settings.audit_secret
    words = text(form, "comment" if action == "return" else "reason")

    def run() -> None:
        if action == "approve":
            rulesets.approve(state.db, secret, viewer.actor, ruleset_id, revision, words)
        elif action == "return":
            forms.return_revision(state.db, secret, viewer.actor, ruleset_id, revision, words)
        elif action == "propose":
            rulesets.propose(state.db, secret, viewer.actor, ruleset_id, revision, words)
        else:
            active = [a.revision for a in state.engines.active_revisions(ruleset_id) if a.revision != revision]
            replaces = [r for r in form.getlist("replaces") if isinstance(r, str) and r in active]
            rulesets.activate(state.db, secret, viewer.actor, ruleset_id, revision, words, replaces=replaces)
            state.engines.refresh()

    await run_in_threadpool(lambda: app_shown(run))
    query = urlencode({"done": action})
    return redirect(f"/ui/rulesets/{ruleset_id}/revisions/{revision}/review?{query}")


# ------------------------------------------------------------------ history


@router.get("/ui/rulesets/{ruleset_id}/history")
def history_page(request: Request, ruleset_id: str) -> HTMLResponse:
    viewer = need(request, RULESET_READERS)
    check_ids(ruleset_id)
    rows = app_shown(forms.history, state_of(request).db, ruleset_id)
    return render(request, "history.html", ruleset_id=ruleset_id, rows=rows, may_edit=viewer.may(MAINTAINERS))
