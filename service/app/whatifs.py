"""What-ifs an analyst builds in a form (issue 15): a scenario from plain choices, saved by name, run as a job.

The form gives parameter changes (in the parameter's own terms), policies switched off, an envelope change
in percent, score shifts, a stored dataset, and optionally a sweep of one or two parameters (from/to/step).
:func:`scenario_document` turns that into a scenario document (``simulations/<id>.yaml``'s format, with
``dataset: {dataset_id: …}``), which the simulation service checks in full before it is saved or run.

Saved scenarios live in the database (``saved_scenarios``, migration 0007_pages), not in ``simulations/``: the
server's source tree is read-only in production. Each can be downloaded as a scenario file (YAML).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from service import audit
from service.app.errors import Conflict, NotFound, Problem
from service.domain.policy import SLUG, check_parameter_value
from service.storage import pages
from service.storage.db import Database, utc_now

MAX_TITLE = 200
MAX_SAVED = 500
SCORE_FIELDS = ("evaluation_score", "target_review_score", "department.overall_score")
SCORE_LABELS = {
    "evaluation_score": ("绩效评价得分", "Evaluation score"),
    "target_review_score": ("绩效目标评审得分", "Target-review score"),
    "department.overall_score": ("部门整体评价得分", "Department overall score"),
}
ENVELOPE_AXIS = "envelope.percent"
MAX_POINTS = 400  # a sweep from the page: what a chart can show (files may sweep more)
WHAT_IF = "what-if"


@dataclass(frozen=True)
class Axis:
    parameter: str
    start: Decimal
    stop: Decimal
    step: Decimal


@dataclass(frozen=True)
class WhatIf:
    """The form's choices, already in the parameter's own terms (a rate 0.15, not 15)."""

    name: str
    title: str
    ruleset: str
    dataset_id: str
    params: dict[str, dict[str, Any]]
    disable: list[str]
    envelope_percent: Decimal | None
    score_shifts: dict[str, Decimal]
    axes: list[Axis]


def _decimal(raw: Any, loc: tuple[str | int, ...], problems: list[Problem]) -> Decimal | None:
    try:
        value = Decimal(str(raw).replace(",", "").strip())
    except InvalidOperation:
        problems.append(Problem(loc, "must be a number"))
        return None
    if not value.is_finite():
        problems.append(Problem(loc, "must be a number"))
        return None
    return value


def check(what: WhatIf, specs: Mapping[str, Mapping[str, Any]]) -> list[Problem]:
    """Every problem of the form's choices, each at its place; ``specs``: policy → parameter → Parameter."""
    problems: list[Problem] = []
    if not re.fullmatch(SLUG, what.name) or len(what.name) > 64:
        problems.append(Problem(("name",), "a name of lower-case letters, digits and hyphens, e.g. cut-15"))
    if not what.title.strip() or len(what.title) > MAX_TITLE:
        problems.append(Problem(("title",), f"is required (at most {MAX_TITLE} characters)"))
    if not what.dataset_id:
        problems.append(Problem(("dataset",), "pick a dataset"))
    for pid, values in what.params.items():
        for name, value in values.items():
            spec = specs.get(pid, {}).get(name)
            if spec is None:
                problems.append(Problem(("params", pid, name), "no such parameter"))
                continue
            try:
                check_parameter_value(spec, value)
            except ValueError as error:
                problems.append(Problem(("params", pid, name), str(error)))
    for pid in what.disable:
        if pid not in specs:
            problems.append(Problem(("disable", pid), "no such policy"))
    if what.envelope_percent is not None and not Decimal(-100) <= what.envelope_percent <= Decimal(1000):
        problems.append(Problem(("envelope_percent",), "between −100% and 1000%"))
    for field, by in what.score_shifts.items():
        if field not in SCORE_FIELDS:
            problems.append(Problem(("score_shifts", field), "no such score"))
        elif not Decimal(-100) <= by <= Decimal(100):
            problems.append(Problem(("score_shifts", field), "between −100 and 100 points"))
    if len(what.axes) > 2:
        problems.append(Problem(("sweep",), "at most two parameters"))
    total = 1
    for i, axis in enumerate(what.axes):
        loc: tuple[str | int, ...] = ("sweep", i)
        if axis.step <= 0:
            problems.append(Problem((*loc, "step"), "must be above 0"))
            continue
        if axis.stop < axis.start:
            problems.append(Problem((*loc, "to"), "is below from"))
            continue
        count = int((axis.stop - axis.start) / axis.step) + 1
        total *= count
        if axis.parameter != ENVELOPE_AXIS:
            pid, _, name = axis.parameter.partition(".")
            spec = specs.get(pid, {}).get(name)
            if spec is None or spec.type not in ("rate", "score", "money", "integer"):
                problems.append(Problem((*loc, "parameter"), "pick a numeric parameter"))
                continue
            for end, value in (("from", axis.start), ("to", axis.stop)):
                try:
                    check_parameter_value(spec, int(value) if spec.type == "integer" else value)
                except (ValueError, ArithmeticError) as error:
                    problems.append(Problem((*loc, end), str(error)))
            if spec.type == "integer" and (axis.start != int(axis.start) or axis.step != int(axis.step)):
                problems.append(Problem((*loc, "step"), "a whole-number parameter moves in whole steps"))
        elif axis.start < -100 or axis.stop > 1000:
            problems.append(Problem(loc, "the envelope moves between −100% and 1000%"))
    if total > MAX_POINTS:
        problems.append(
            Problem(("sweep",), f"{total} points: at most {MAX_POINTS} (a larger step, or a narrower range)")
        )
    if not (what.params or what.disable or what.envelope_percent is not None or what.score_shifts or what.axes):
        problems.append(
            Problem(("params",), "change something: a parameter, a policy, the envelope, scores or a sweep")
        )
    return problems


def _number(value: Any) -> Any:
    """A JSON number text that keeps every digit (no float): Decimals as strings."""
    return str(value) if isinstance(value, Decimal) else value


def scenario_document(what: WhatIf) -> dict[str, Any]:
    """The scenario file's content (dataset by id)."""
    variant: dict[str, Any] = {"name": WHAT_IF}
    if what.params:
        variant["params"] = {pid: {k: _number(v) for k, v in values.items()} for pid, values in what.params.items()}
    if what.disable:
        variant["disable"] = list(what.disable)
    if what.envelope_percent is not None:
        variant["envelope"] = {"percent": str(what.envelope_percent)}
    if what.score_shifts:
        variant["transforms"] = [{"shift_score": f, "by": str(by)} for f, by in what.score_shifts.items()]
    document: dict[str, Any] = {
        "id": what.name,
        "title": {"zh": what.title, "en": what.title},
        "dataset": {"dataset_id": what.dataset_id},
        "ruleset": what.ruleset,
        "variants": [variant] if len(variant) > 1 else [],
        "sweeps": [],
    }
    if what.axes:
        document["sweeps"] = [
            {
                "name": "sweep",
                "on": WHAT_IF if len(variant) > 1 else None,
                "axes": [
                    {"parameter": a.parameter, "from": str(a.start), "to": str(a.stop), "step": str(a.step)}
                    for a in what.axes
                ],
            }
        ]
        if document["sweeps"][0]["on"] is None:
            del document["sweeps"][0]["on"]
    return document


def as_yaml(document: Mapping[str, Any]) -> str:
    """The scenario as a file a person can read, keep and send (``simulations/<id>.yaml`` format)."""
    head = "# yaml-language-server: $schema=../schemas/scenario.schema.json\n"
    return head + yaml.safe_dump(dict(document), allow_unicode=True, sort_keys=False)


# ------------------------------------------------------------------ saved scenarios


def save(db: Database, secret: str, actor: audit.Actor, document: Mapping[str, Any], *, replace: bool) -> None:
    """Store (or with ``replace`` overwrite) a checked scenario under its id; audited."""
    name, now = str(document["id"]), utc_now()
    title = document.get("title", {}).get("zh", name)
    text = json.dumps(document, ensure_ascii=False, sort_keys=True)
    with db.transaction() as session:
        row = pages.saved_scenario(session, name)
        if row is not None and not replace:
            raise Conflict(
                f"a scenario named {name!r} exists already; tick replace to overwrite it", code="scenario_exists"
            )
        if row is None:
            if len(pages.saved_scenarios(session, MAX_SAVED + 1)) >= MAX_SAVED:
                raise Conflict(f"at most {MAX_SAVED} saved scenarios: delete some first", code="too_many_scenarios")
            row = pages.SavedScenarioRow(
                name=name, title=title, document_json=text, created_by=actor.name, created_at=now,
                updated_by=actor.name, updated_at=now,
            )  # fmt: skip
        else:
            row.title, row.document_json, row.updated_by, row.updated_at = title, text, actor.name, now
        session.add(row)
        audit.append(
            session,
            secret,
            actor=actor,
            action="scenario.save",
            subject=name,
            input_doc={"scenario": document},
            result_doc={"saved": name},
        )


def saved(db: Database) -> list[pages.SavedScenarioRow]:
    with db.transaction() as session:
        return pages.saved_scenarios(session, MAX_SAVED)


def load(db: Database, name: str) -> dict[str, Any]:
    with db.transaction() as session:
        row = pages.saved_scenario(session, name) if re.fullmatch(SLUG, name) else None
    if row is None:
        raise NotFound(f"no saved scenario {name!r}")
    document: dict[str, Any] = json.loads(row.document_json)
    return document


def load_into_form(document: Mapping[str, Any]) -> dict[str, Any]:
    """A saved scenario as the form's values (to change and save again, or run)."""
    variant: dict[str, Any] = next(iter(document.get("variants") or []), {})
    sweep: dict[str, Any] = next(iter(document.get("sweeps") or []), {})
    return {
        "name": document.get("id", ""),
        "title": (document.get("title") or {}).get("zh", ""),
        "ruleset": document.get("ruleset", ""),
        "dataset_id": (document.get("dataset") or {}).get("dataset_id", ""),
        "params": variant.get("params", {}),
        "disable": variant.get("disable", []),
        "envelope_percent": (variant.get("envelope") or {}).get("percent"),
        "score_shifts": {t["shift_score"]: t["by"] for t in variant.get("transforms", []) if "shift_score" in t},
        "axes": sweep.get("axes", []),
    }
