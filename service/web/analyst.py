"""The analyst's what-if pages (issue 15): build a scenario in a form, run it, save it by name, read the report.

    GET  /ui/whatifs                    the form (or ?saved=NAME to load a saved scenario) and the saved list
    POST /ui/whatifs                    action=run (start a simulation job) or action=save (store it by name)
    GET  /ui/whatifs/saved/{name}.yaml  a saved scenario as a scenario file
    GET  /ui/whatifs/jobs/{job_id}      progress, then the report in the reader's language

The report is rendered here from the job's results document: GLOSSARY.md's words, amounts with
separators, one unit per chart, only the departments that change, and nothing wider than a phone.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from service.app import errors as app_errors
from service.app import ruleset_forms as forms
from service.app import simulations, whatifs
from service.domain.policy import check_parameter_value
from service.web import i18n
from service.web.charts_svg import Series, line_chart
from service.web.i18n import translate
from service.web.maintainer import app_shown, checked_boxes, default_base, read_form, redirect, text
from service.web.routes import UUID, render, shown
from service.web.session import SIMULATION_READERS, SIMULATION_RUNNERS, WebError, lang_of, need, state_of
from service.web.views import project_rulesets

router = APIRouter(include_in_schema=False)
DEFAULT_RULESET = "wuding-county"
MONEY_ROWS = ("requested", "after_policies", "cut", "recommended", "reclaimed", "allocated_from_pool", "reserve")
STATUS_ROWS = ("funded", "reduced", "excluded", "cancelled")
TOP_LINES = 20


def words(lang: str, key: str) -> str:
    pair = i18n.T[key]
    return pair[1] if lang == "en" else pair[0]


def colon(lang: str) -> str:
    return ": " if lang == "en" else "："


def paren(lang: str, inner: str) -> str:
    return f" ({inner})" if lang == "en" else f"（{inner}）"


def money(value: Any) -> str:
    return f"{Decimal(str(value)):,.2f}"


def signed_number(value: Decimal) -> str:
    """``+5`` / ``−5`` / ``0``: a change with its sign (a true minus sign)."""
    value = value.normalize()
    text = format(abs(value), "f")
    return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else "0")


def signed(value: Decimal) -> str:
    if value == 0:
        return "0.00"
    return f"{'+' if value > 0 else '−'}{abs(value):,.2f}"


# ------------------------------------------------------------------ the form


def specs_of(view: forms.RulesetForm) -> dict[str, dict[str, Any]]:
    return {p.id: {f.name: f.spec for f in p.params} for p in view.policies}


def ruleset_view(request: Request, ruleset_id: str) -> forms.RulesetForm:
    state = state_of(request)
    view: forms.RulesetForm = app_shown(forms.form_of, state.db, ruleset_id, default_base(request, ruleset_id))
    return view


def axis_choices(view: forms.RulesetForm, lang: str) -> list[tuple[str, str]]:
    i = 1 if lang == "en" else 0
    out = [(whatifs.ENVELOPE_AXIS, f"{words(lang, 'envelope_change')}{paren(lang, '−100–1000%')}")]
    for p in view.policies:
        for f in p.params:
            if f.type in ("rate", "score", "money", "integer"):
                limits = f"{f.low if f.low is not None else '…'}–{f.high if f.high is not None else '…'}{f.unit[i]}"
                out.append((f"{p.id}.{f.name}", f"{p.title[i]}{colon(lang)}{f.label[i]}{paren(lang, limits)}"))
    return out


def parse_form(form: Any, view: forms.RulesetForm, lang: str) -> tuple[whatifs.WhatIf, dict[str, str]]:
    """The form's choices in the parameters' own terms, and each field's problem in the reader's language."""
    problems: dict[str, str] = {}
    params: dict[str, dict[str, Any]] = {}
    disable: list[str] = []
    for p in view.policies:
        if p.enabled and form.get(f"on:{p.id}") is None:
            disable.append(p.id)
        for f in p.params:
            key = f"p:{p.id}:{f.name}"
            if f.type == "choice_list":
                if form.get(key) is None:  # not sent: unchanged
                    continue
                raw = checked_boxes(form, key)
                if raw == f.shown:
                    continue
            else:
                raw = text(form, key)
                if not raw or raw == f.shown:
                    continue
            try:
                value = forms.parse_shown(f.spec, raw)
                checked = check_parameter_value(f.spec, value)
            except ValueError:
                if f.type in ("choice", "choice_list"):
                    problems[key] = words(lang, "err_choice")
                    continue
                low = f.low if f.low is not None else "…"
                high = f.high if f.high is not None else "…"
                limits = f"{low}–{high}{f.unit[1 if lang == 'en' else 0]}"
                problems[key] = f"{words(lang, 'err_range')}{paren(lang, limits)}"
                continue
            if checked != f.value:
                params.setdefault(p.id, {})[f.name] = (
                    value if f.type in ("integer", "choice", "choice_list", "boolean") else str(value)
                )

    def number(key: str, low: Decimal, high: Decimal) -> Decimal | None:
        raw = text(form, key).replace(",", "").removesuffix("%")
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except ArithmeticError:
            problems[key] = words(lang, "err_number")
            return None
        if not value.is_finite() or not low <= value <= high:
            limits = f"{low}–{high}"
            problems[key] = f"{words(lang, 'err_range')}{paren(lang, limits)}"
            return None
        return value

    envelope = number("envelope_percent", Decimal(-100), Decimal(1000))
    shifts = {}
    for score in whatifs.SCORE_FIELDS:
        by = number(f"shift:{score}", Decimal(-100), Decimal(100))
        if by is not None and by != 0:
            shifts[score] = by
    axes = []
    specs = {f"{p.id}.{f.name}": f for p in view.policies for f in p.params}
    for k in (0, 1):
        parameter = text(form, f"axis{k}")
        if not parameter:
            continue
        field = specs.get(parameter)
        if parameter != whatifs.ENVELOPE_AXIS and field is None:
            problems[f"axis{k}"] = words(lang, "err_number")
            continue
        values = [number(f"axis{k}_{part}", Decimal(-(10**12)), Decimal(10**12)) for part in ("from", "to", "step")]
        if any(v is None for v in values):
            for part in ("from", "to", "step"):
                if not text(form, f"axis{k}_{part}"):
                    problems[f"axis{k}_{part}"] = words(lang, "err_required")
            continue
        start, stop, step = (v for v in values if v is not None)
        if field is not None and field.type == "rate":
            start, stop, step = start / 100, stop / 100, step / 100
        axes.append(whatifs.Axis(parameter, start, stop, step))
    what = whatifs.WhatIf(
        name=text(form, "name"),
        title=text(form, "title"),
        ruleset=view.ruleset_id,
        dataset_id=text(form, "dataset"),
        params=params,
        disable=disable,
        envelope_percent=envelope,
        score_shifts=shifts,
        axes=axes,
    )
    return what, problems


def form_key(problem: app_errors.Problem) -> str:
    loc = problem.loc
    if loc[:1] == ("params",) and len(loc) == 3:
        return f"p:{loc[1]}:{loc[2]}"
    if loc[:1] == ("sweep",) and len(loc) >= 2:
        return f"axis{loc[1]}_{loc[2]}" if len(loc) == 3 and loc[2] in ("from", "to", "step") else f"axis{loc[1]}"
    if loc[:1] == ("score_shifts",) and len(loc) == 2:
        return f"shift:{loc[1]}"
    return str(loc[0]) if loc else "general"


def render_form(
    request: Request,
    view: forms.RulesetForm,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    saved_name: str | None = None,
) -> HTMLResponse:
    state = state_of(request)
    lang = lang_of(request)
    choices = app_shown(forms.dataset_choices, state.db)
    i = 1 if lang == "en" else 0
    labels = {
        "name": words(lang, "whatif_name").split("（")[0].split(" (")[0],
        "title": words(lang, "whatif_title"),
        "dataset": translate(lang, "dataset"),
        "envelope_percent": words(lang, "envelope_change"),
        "sweep": words(lang, "sweep_word"),
    }
    for p in view.policies:
        for f in p.params:
            labels[f"p:{p.id}:{f.name}"] = f"{p.title[i]}{colon(lang)}{f.label[i]}"
    for score, pair in whatifs.SCORE_LABELS.items():
        labels[f"shift:{score}"] = pair[i]
    for k in (0, 1):
        for part in ("", "_from", "_to", "_step"):
            labels[f"axis{k}{part}"] = f"{words(lang, 'sweep_word')} {k + 1}"
    return render(
        request,
        "whatif_form.html",
        labels=labels,
        sep=colon(lang),
        status=status,
        view=view,
        values=values or {},
        problems=problems or {},
        datasets=choices,
        rulesets=project_rulesets(state),
        axis_choices=axis_choices(view, lang),
        score_fields=[(f, whatifs.SCORE_LABELS[f]) for f in whatifs.SCORE_FIELDS],
        saved=app_shown(whatifs.saved, state.db),
        saved_name=saved_name,
        max_points=whatifs.MAX_POINTS,
    )


def values_of_saved(document: dict[str, Any], view: forms.RulesetForm) -> dict[str, str]:
    loaded = whatifs.load_into_form(document)
    values = {"name": loaded["name"], "title": loaded["title"], "dataset": loaded["dataset_id"]}
    fields = {(p.id, f.name): f for p in view.policies for f in p.params}
    for pid, params in loaded["params"].items():
        for name, value in params.items():
            field = fields.get((pid, name))
            if field is not None:
                values[f"p:{pid}:{name}"] = forms.shown_value(field.spec, value)
    for p in view.policies:
        values[f"on:{p.id}"] = "" if p.id in loaded["disable"] else "1"
    if loaded["envelope_percent"] is not None:
        values["envelope_percent"] = str(loaded["envelope_percent"])
    for field_name, by in loaded["score_shifts"].items():
        values[f"shift:{field_name}"] = str(by)
    for k, axis in enumerate(loaded["axes"][:2]):
        pid, _, pname = str(axis["parameter"]).partition(".")
        field = fields.get((pid, pname))
        factor = Decimal(100) if field is not None and field.type == "rate" else Decimal(1)
        values[f"axis{k}"] = axis["parameter"]
        for part in ("from", "to", "step"):
            values[f"axis{k}_{part}"] = (
                forms.shown_value(field.spec, axis[part])
                if field is not None
                else str((Decimal(str(axis[part])) * factor).normalize())
            )
    return values


@router.get("/ui/whatifs")
def whatif_page(request: Request) -> HTMLResponse:
    need(request, SIMULATION_RUNNERS)
    state = state_of(request)
    name = request.query_params.get("saved")
    ruleset_id = request.query_params.get("ruleset") or DEFAULT_RULESET
    values = None
    if name:
        document = app_shown(whatifs.load, state.db, name)
        ruleset_id = str(document.get("ruleset", ruleset_id)).partition("@")[0]
        view = ruleset_view(request, ruleset_id)
        values = values_of_saved(document, view)
    else:
        view = ruleset_view(request, ruleset_id)
    return render_form(request, view, values=values, saved_name=request.query_params.get("done_saved"))


@router.post("/ui/whatifs")
async def whatif_submit(request: Request) -> Response:
    viewer = need(request, SIMULATION_RUNNERS)
    form = await read_form(request, viewer)
    state = state_of(request)
    lang = lang_of(request)
    ruleset_id = text(form, "ruleset") or DEFAULT_RULESET
    if ruleset_id not in project_rulesets(state):
        raise WebError(422, "ruleset", [ruleset_id])
    view = await run_in_threadpool(ruleset_view, request, ruleset_id)
    what, problems = parse_form(form, view, lang)
    values = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf"}
    for p in view.policies:
        values[f"on:{p.id}"] = "1" if form.get(f"on:{p.id}") is not None else ""
        for f in p.params:
            if f.type == "choice_list" and form.get(f"p:{p.id}:{f.name}") is not None:
                values[f"p:{p.id}:{f.name}"] = checked_boxes(form, f"p:{p.id}:{f.name}")
    action = text(form, "action")
    if not problems:
        readable = {
            "name": words(lang, "err_name"),
            "title": words(lang, "err_required"),
            "params": words(lang, "err_nothing_whatif"),
            "sweep": words(lang, "err_points").replace("{n}", str(whatifs.MAX_POINTS)),
        }
        for problem in whatifs.check(what, specs_of(view)):
            key = form_key(problem)
            problems.setdefault(key, readable.get(key, problem.message) if len(problem.loc) == 1 else problem.message)
    if action == "run" and "name" in problems and not what.name:
        problems.pop("name")  # running needs no name; saving does
    if action == "run" and "title" in problems and not what.title:
        problems.pop("title")
    if problems:
        return render_form(request, view, status=422, values=values, problems=problems)
    unnamed = dataclasses.replace(what, name="what-if", title=what.title or words(lang, "whatif"))
    document = whatifs.scenario_document(what if what.name else unnamed)
    config = simulations.config_of(request.app.state)

    def run() -> tuple[str | None, dict[str, str]]:
        try:
            with shown():
                simulations.parse_submission(state.db, document)
                if action == "save":
                    whatifs.save(
                        state.db, state.settings.audit_secret, viewer.actor, document, replace=bool(form.get("replace"))
                    )
                    return None, {}
                return simulations.start(state, config, viewer.actor, document).id, {}
        except WebError as error:  # shown() turns the use cases' errors into WebError, keeping their code
            if error.code == "scenario_exists":
                return None, {"name": words(lang, "err_scenario_exists")}
            return None, {"general": "; ".join([error.message, *error.details])}

    job_id, failed = await run_in_threadpool(run)
    if failed:
        return render_form(request, view, status=422, values=values, problems=failed)
    if job_id is None:
        return redirect(f"/ui/whatifs?saved={what.name}&done_saved={what.name}")
    return redirect(f"/ui/whatifs/jobs/{job_id}")


@router.get("/ui/whatifs/saved/{name}.yaml")
def saved_file(request: Request, name: str) -> Response:
    need(request, SIMULATION_RUNNERS)
    document = app_shown(whatifs.load, state_of(request).db, name)
    return Response(
        whatifs.as_yaml(document),
        media_type="application/yaml; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.yaml"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/ui/whatifs/saved/{name}/run")
async def run_saved(request: Request, name: str) -> Response:
    viewer = need(request, SIMULATION_RUNNERS)
    await read_form(request, viewer)
    state = state_of(request)
    config = simulations.config_of(request.app.state)

    def run() -> str:
        document = app_shown(whatifs.load, state.db, name)
        with shown():
            return simulations.start(state, config, viewer.actor, document).id

    job_id = await run_in_threadpool(run)
    return redirect(f"/ui/whatifs/jobs/{job_id}")


# ------------------------------------------------------------------ the report


def describe_changes(document: dict[str, Any], view: forms.RulesetForm, lang: str) -> list[str]:
    i = 1 if lang == "en" else 0
    policies = {p.id: p for p in view.policies}
    out = []
    for variant in document.get("variants") or []:
        for pid, params in (variant.get("params") or {}).items():
            policy = policies.get(pid)
            for name, value in params.items():
                field = next((f for f in policy.params if f.name == name), None) if policy else None
                if policy is None or field is None:
                    continue
                old, new = (
                    forms.worded(field.spec, name, field.value, lang),
                    forms.worded(field.spec, name, value, lang),
                )
                out.append(f"{policy.title[i]}{colon(lang)}{field.label[i]} {old} → {new}")
        for pid in variant.get("disable") or []:
            title = policies[pid].title[i] if pid in policies else pid
            out.append(f"{title}{colon(lang)}{'停用' if i == 0 else 'switched off'}")
        if (envelope := variant.get("envelope")) and "percent" in envelope:
            pct = Decimal(str(envelope["percent"])).normalize()
            out.append(f"{words(lang, 'envelope_change')} {signed_number(pct)}%")
        for t in variant.get("transforms") or []:
            if "shift_score" in t:
                label = whatifs.SCORE_LABELS.get(t["shift_score"], (t["shift_score"],) * 2)[i]
                by = Decimal(str(t["by"])).normalize()
                unit = "分" if i == 0 else " points"
                out.append(f"{label} {signed_number(by)}{unit}{paren(lang, words(lang, 'clamped'))}")
    for sweep in document.get("sweeps") or []:
        for axis in sweep.get("axes") or []:
            label, fmt = axis_label(str(axis.get("parameter")), view, lang)
            if "from" in axis:
                start, stop, step = (fmt(Decimal(str(axis[k]))) for k in ("from", "to", "step"))
                steps = paren(lang, f"{words(lang, 'step_size')} {step}")
                out.append(f"{words(lang, 'sweep_word')}{colon(lang)}{label} {start} – {stop}{steps}")
    return out


def axis_label(parameter: str, view: forms.RulesetForm, lang: str) -> tuple[str, Any]:
    """The axis's words and a formatter for its values (``15%``, ``60分``, ``+5%``)."""
    i = 1 if lang == "en" else 0
    if parameter == whatifs.ENVELOPE_AXIS:

        def pct(x: Decimal) -> str:
            return f"{signed_number(Decimal(str(x)))}%"

        return f"{words(lang, 'envelope_change')}{paren(lang, '%')}", pct
    pid, _, name = parameter.partition(".")
    for p in view.policies:
        for f in p.params:
            if p.id == pid and f.name == name:
                return f"{f.label[i]}{paren(lang, f.unit[i])}" if f.unit[i] else f.label[
                    i
                ], lambda x, f=f: forms.worded(f.spec, f.name, x, lang)
    return parameter, str


def report_view(result: dict[str, Any], document: dict[str, Any], view: forms.RulesetForm, lang: str) -> dict[str, Any]:
    """Everything the report shows, formatted: no Python values, no codes, amounts in 元 with separators."""
    out: dict[str, Any] = {"changes": describe_changes(document, view, lang), "variant": None, "sweep": None}
    base = result["baseline"]["summary"]
    out["fiscal_year"] = result["scenario"].get("fiscal_year")
    out["lines"] = result["scenario"].get("lines")
    out["departments_total"] = result["scenario"].get("departments")
    for v in result.get("variants") or []:
        totals = v["summary"]["totals"]
        money_rows = []
        for k in MONEY_ROWS:
            before, after = Decimal(base["totals"][k]), Decimal(totals[k])
            if before == 0 and after == 0:
                continue
            money_rows.append((words(lang, f"total_{k}"), money(before), money(after), signed(after - before)))
        count_rows = [
            (
                words(lang, f"count_{s}"),
                base["counts"][s],
                v["summary"]["counts"][s],
                v["summary"]["counts"][s] - base["counts"][s],
            )
            for s in STATUS_ROWS
        ]
        changed = [d for d in v["departments"] if Decimal(d["change"]["recommended"]) != 0]
        changed.sort(key=lambda d: abs(Decimal(d["change"]["recommended"])), reverse=True)
        departments = [
            (
                d["name"] or d["department_id"],
                money(d["baseline"]["totals"]["recommended"]),
                money(d["variant"]["totals"]["recommended"]),
                signed(Decimal(d["change"]["recommended"])),
            )
            for d in changed
        ]
        lines = []
        for line in v["changed_lines"]:
            before, after = Decimal(line["baseline"]["recommended"]), Decimal(line["variant"]["recommended"])
            lines.append((abs(after - before), line, before, after))
        lines.sort(key=lambda x: x[0], reverse=True)
        out["variant"] = {
            "money": money_rows,
            "counts": count_rows,
            "departments": departments,
            "unchanged": len(v["departments"]) - len(changed),
            "lines": [
                (
                    line["name"],
                    translate(lang, f"status_{line['baseline']['status']}"),
                    translate(lang, f"status_{line['variant']['status']}"),
                    money(before),
                    money(after),
                    signed(after - before),
                )
                for _, line, before, after in lines[:TOP_LINES]
            ],
            "lines_total": v["changed_lines_count"],
        }
    sweeps = result.get("sweeps") or []
    if sweeps:
        sweep = sweeps[0]
        axes = [a["parameter"] for a in sweep["axes"]]
        first_label, first_fmt = axis_label(axes[0], view, lang)
        wan = Decimal(10000)

        def wan_text(y: Decimal) -> str:
            return f"{y:,.0f}"

        points = sweep["points"]
        charts = []
        groups: dict[str, list[dict[str, Any]]] = {}
        if len(axes) == 2:
            for point in points:
                groups.setdefault(str(point["values"][axes[1]]), []).append(point)
        else:
            groups[""] = points
        second_label, second_fmt = axis_label(axes[1], view, lang) if len(axes) == 2 else ("", str)
        for money_key in ("recommended", "reserve"):
            series = []
            xs: list[Decimal] = []
            for key, group in list(groups.items())[:8]:
                xs = [Decimal(str(p["values"][axes[0]])) for p in group]
                label = words(lang, f"total_{money_key}") if not key else f"{second_fmt(Decimal(key))}"
                series.append(Series(label, [Decimal(p["totals"][money_key]) / wan for p in group]))
            title = f"{words(lang, f'total_{money_key}')}{paren(lang, words(lang, 'wan_yuan'))}"
            charts.append(line_chart(title, xs, series, first_label, title, first_fmt, wan_text))
        if len(axes) == 1:
            xs = [Decimal(str(p["values"][axes[0]])) for p in points]
            series = [Series(words(lang, f"count_{s}"), [Decimal(p["counts"][s]) for p in points]) for s in STATUS_ROWS]
            title = f"{words(lang, 'line_counts')}{paren(lang, words(lang, 'unit_lines'))}"
            charts.append(line_chart(title, xs, series, first_label, title, first_fmt, lambda y: f"{y:,.0f}"))
        rows = []
        for p in points:
            rows.append(
                (
                    [first_fmt(Decimal(str(p["values"][axes[0]])))]
                    + ([second_fmt(Decimal(str(p["values"][axes[1]])))] if len(axes) == 2 else []),
                    money(p["totals"]["recommended"]),
                    money(p["totals"]["reserve"]),
                    [p["counts"][s] for s in STATUS_ROWS],
                )
            )
        out["sweep"] = {
            "heads": [first_label] + ([second_label] if len(axes) == 2 else []),
            "charts": charts,
            "rows": rows,
            "two": len(axes) == 2,
            "second_label": second_label,
        }
    return out


@router.get("/ui/whatifs/jobs/{job_id}")
def whatif_job(request: Request, job_id: str) -> HTMLResponse:
    need(request, SIMULATION_READERS)
    if not UUID.match(job_id):
        raise WebError(404, "err_404")
    state = state_of(request)
    with shown():
        row = simulations.get_job(state, simulations.config_of(request.app.state), job_id)
    document = json.loads(row.scenario_json)
    report = None
    if row.state == "succeeded" and row.result_json:
        result = json.loads(row.result_json)
        ran = (result.get("baseline", {}).get("changes") or {}).get("ruleset") or {}
        ruleset_id = str(document.get("ruleset", DEFAULT_RULESET)).partition("@")[0]
        if ran.get("revision"):  # the words of the revision the job ran (its baseline), not today's
            view = app_shown(forms.form_of, state.db, ruleset_id, str(ran["revision"]))
        else:
            view = ruleset_view(request, ruleset_id)
        report = report_view(result, document, view, lang_of(request))
    title = (document.get("title") or {}).get("zh") or row.scenario_id
    return render(request, "whatif_report.html", row=row, title=title, report=report, document=document)
