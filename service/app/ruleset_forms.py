"""Rulesets in a maintainer's and an approver's words: parameter forms, review, return with a comment, history.

A maintainer changes a policy's parameters (or switches a policy on or off) on top of a revision, the
*base*; :func:`create_from_parameters` builds the new revision's files from the base's stored content,
checks them exactly as ``budget-rules validate`` / ``ruleset propose`` do (types, limits, the engine's
limits) and stores the revision with a note: the base it replaces, why, and the person who made it.

    draft ──propose──▶ proposed ──approve──▶ approved ──activate──▶ active
                          │
                          └──return (退回, with a comment)──▶ returned   (the maintainer builds a new revision on it)

Separation of duties compares persons (:attr:`service.audit.Actor.person`), never names. The diff of a
revision is always against the revision it replaced (its base, or for uploaded files the revision that
was active for its first year when it was uploaded), also after activation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from service import audit
from service.app.errors import Conflict, InvalidInput, InvalidPolicy, NotFound, Problem
from service.app.rulesets import expect_state, get_revision, locked_row, makers, record_transition
from service.domain.policy import Parameter, Policy, check_parameter_value
from service.domain.ruleset import RulesetFile, canonical_json
from service.lifecycle.revisions import CheckedRevision, check_files
from service.storage import pages
from service.storage.db import Database, as_utc, utc_now
from service.storage.models import RulesetRevisionRow
from service.storage.repositories import rulesets as repository

MAX_REASON = 2000
MAX_CHANGES = 200
RETURNED = "returned"

# Labels a finance bureau reads (GLOSSARY.md); a parameter missing here falls back to its description.
LABELS: dict[tuple[str, str], tuple[str, str]] = {
    ("cancel-ineffective", "cancel_below"): ("取消门槛（评价得分低于）", "Cancel below (evaluation score)"),
    ("cut-inefficient", "cut_from"): ("压减区间下限（评价得分不低于）", "Cut from (evaluation score at least)"),
    ("cut-inefficient", "cut_below"): ("压减区间上限（评价得分低于）", "Cut below (evaluation score under)"),
    ("cut-inefficient", "cut_rate"): ("压减比例", "Cut rate"),
    ("department-tilt", "min_score"): ("部门整体评价得分门槛", "Department overall score threshold"),
    ("overlap-review", "fragment_below"): ("碎片化项目申报数上限", "Fragment: requested below"),
    ("overlap-review", "fragment_min_lines"): ("碎片化项目个数", "Fragment: lines of one purpose"),
    ("prioritize-good", "tier1_from"): ("第1档起始得分", "Tier 1 from (score)"),
    ("prioritize-good", "tier2_from"): ("第2档起始得分", "Tier 2 from (score)"),
    ("public-funds-performance", "share"): ("与绩效挂钩的比例", "Share tied to performance"),
    ("reclaim-idle", "min_years"): ("收回统筹的沉淀年限", "Years idle before reclaiming"),
    ("self-evaluation-disclosure-deadline", "max_days"): ("自评报告公开期限", "Days to publish the self-evaluation"),
    ("target-review-gate", "min_score"): ("目标评审最低得分", "Lowest target-review score"),
    ("target-review-gate", "missing"): ("缺少评审得分时", "When the review score is missing"),
    ("targets-disclosure-deadline", "max_days"): ("绩效目标公开期限", "Days to publish the targets"),
    ("urge-improvement", "band_from"): ("督促整改区间下限（评价得分不低于）", "Improvement band from (score)"),
    ("urge-improvement", "band_below"): ("督促整改区间上限（评价得分低于）", "Improvement band below (score)"),
}
INTEGER_UNITS: dict[str, tuple[str, str]] = {
    "max_days": ("日", "days"),
    "min_years": ("年", "years"),
    "fragment_min_lines": ("个", "lines"),
}
UNITS: dict[str, tuple[str, str]] = {"rate": ("%", "%"), "score": ("分", "points"), "money": ("元", "yuan")}
CHOICES: dict[str, tuple[str, str]] = {
    "exclude": ("不予纳入", "exclude the line"),
    "flag": ("仅加标记", "flag only"),
    # the protected kinds of spending (GLOSSARY.md), a choice_list of protect-essential
    "basic_livelihood": ("保基本民生", "basic livelihood"),
    "wages": ("保工资", "wages"),
    "operations": ("保运转", "operations"),
    "statutory": ("法定支出", "statutory"),
    "matching": ("上级配套", "matching"),
}


# ------------------------------------------------------------------ values in business words


def unit_of(name: str, spec: Parameter) -> tuple[str, str]:
    if spec.type == "integer":
        return INTEGER_UNITS.get(name, ("", ""))
    return UNITS.get(spec.type, ("", ""))


def label_of(policy_id: str, name: str, spec: Parameter) -> tuple[str, str]:
    if (policy_id, name) in LABELS:
        return LABELS[(policy_id, name)]
    if spec.description is not None:
        return spec.description.zh, spec.description.en
    return name, name


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return text if text not in ("-0", "") else "0"


def shown_value(spec: Parameter, value: Any) -> str:
    """The number as a person types it in the form: a rate in percent, money with two decimals."""
    if value is None:
        return ""
    if spec.type in ("choice", "integer"):
        return str(value)
    if spec.type == "choice_list":  # the chosen codes in the order of the choices (the form's checkboxes)
        return ",".join(c for c in spec.choices or [] if c in value)
    if spec.type == "boolean":
        return "true" if value else "false"
    number = Decimal(str(value))
    if spec.type == "rate":
        return _plain(number * 100)
    if spec.type == "money":
        return f"{number:,.2f}"
    return _plain(number)


def worded(spec: Parameter, name: str, value: Any, lang: str) -> str:
    """``10%``, ``60分``, ``100,000.00元``, ``20日``, ``不予纳入``: a value as the pages show it."""
    if value is None:
        return "—"
    i = 1 if lang == "en" else 0
    if spec.type == "choice":
        return CHOICES.get(str(value), (str(value), str(value)))[i]
    if spec.type == "choice_list":
        chosen = [CHOICES.get(str(c), (str(c), str(c)))[i] for c in value]
        return ("、", ", ")[i].join(chosen) if chosen else ("（无）", "(none)")[i]
    if spec.type == "boolean":
        return ("是", "yes")[i] if value else ("否", "no")[i]
    unit = unit_of(name, spec)[i]
    number = Decimal(str(value))
    if spec.type == "money":
        text = f"{number:,.2f}"
    elif spec.type == "rate":
        text = f"{_plain(number * 100)}"
    else:
        text = _plain(number)
    if lang == "en" and unit and unit != "%":
        return f"{text} {unit}"
    return f"{text}{unit}"


def parse_shown(spec: Parameter, text: str) -> Any:
    """What a person typed in the form (percent for rates, separators allowed) in the parameter's own terms."""
    if spec.type == "choice_list":  # the checked boxes, joined with commas
        return [part.strip() for part in text.split(",") if part.strip()]
    text = text.strip().replace(",", "").replace("，", "").removesuffix("%").removesuffix("元").removesuffix("分")
    if spec.type == "choice":
        return text
    if spec.type == "boolean":
        return text.lower() in ("1", "true", "on", "yes")
    if spec.type == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError("must be a whole number") from None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not number.is_finite():
        raise ValueError("must be a number")
    return number / 100 if spec.type == "rate" else number


def _stored(spec: Parameter, value: Any) -> Any:
    """A checked value as the ruleset file keeps it: numbers that are not whole as text (never a float)."""
    if spec.type in ("choice", "boolean", "integer"):
        return value
    if spec.type == "choice_list":
        return list(value)
    return _plain(Decimal(str(value))) if spec.type != "money" else f"{Decimal(str(value)):.2f}"


# ------------------------------------------------------------------ reading a revision as a form


@dataclass(frozen=True)
class ParamField:
    name: str
    type: str
    label: tuple[str, str]
    unit: tuple[str, str]
    value: Any  # in the parameter's own terms (rate 0.1)
    shown: str  # as typed in the form (rate 10)
    low: str | None  # limits in the form's terms
    high: str | None
    step: str
    choices: list[tuple[str, tuple[str, str]]]
    spec: Parameter


@dataclass(frozen=True)
class PolicyForm:
    id: str
    title: tuple[str, str]
    summary: tuple[str, str]
    precedence: int
    enabled: bool
    params: list[ParamField]


@dataclass(frozen=True)
class RulesetForm:
    ruleset_id: str
    base: str
    base_state: str
    title: tuple[str, str]
    subject: str
    policies: list[PolicyForm]


def _content(row: RulesetRevisionRow) -> tuple[RulesetFile, dict[str, Policy]]:
    ruleset = RulesetFile.model_validate(json.loads(row.ruleset_json))
    policies = {pid: Policy.model_validate(p) for pid, p in json.loads(row.policies_json).items()}
    return ruleset, policies


def _limits(spec: Parameter) -> tuple[Decimal | None, Decimal | None]:
    """The bounds ``check_parameter_value`` enforces (declared, else the type's), in the parameter's terms."""
    bounds = {"score": (Decimal(0), Decimal(100)), "rate": (Decimal(0), Decimal(1)), "money": (Decimal(0), None)}
    low, high = bounds.get(spec.type, (None, None))
    return (spec.min if spec.min is not None else low), (spec.max if spec.max is not None else high)


def _field(policy_id: str, name: str, spec: Parameter, value: Any) -> ParamField:
    low, high = _limits(spec)
    factor = Decimal(100) if spec.type == "rate" else Decimal(1)
    step = {"rate": "0.01", "score": "0.000001", "money": "0.01", "integer": "1"}.get(spec.type, "any")
    return ParamField(
        name=name,
        type=spec.type,
        label=label_of(policy_id, name, spec),
        unit=unit_of(name, spec),
        value=value,
        shown=shown_value(spec, value),
        low=None if low is None else _plain(low * factor),
        high=None if high is None else _plain(high * factor),
        step=step,
        choices=[(c, CHOICES.get(c, (c, c))) for c in spec.choices or []],
        spec=spec,
    )


def _effective(policy: Policy, params: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for name, spec in policy.parameters.items():
        try:
            out[name] = check_parameter_value(spec, params.get(name, spec.default))
        except ValueError:
            out[name] = params.get(name, spec.default)
    return out


def form_of(db: Database, ruleset_id: str, base: str) -> RulesetForm:
    """Every bound policy of ``base`` with its parameters (labels, units, limits) and whether it is on."""
    row = get_revision(db, ruleset_id, base)
    ruleset, policies = _content(row)
    out = []
    for binding in sorted(ruleset.policies, key=lambda b: b.precedence):
        policy = policies.get(binding.policy)
        if policy is None:
            continue
        values = _effective(policy, binding.params)
        out.append(
            PolicyForm(
                id=policy.id,
                title=(policy.title.zh, policy.title.en),
                summary=(policy.summary.zh, policy.summary.en) if policy.summary else ("", ""),
                precedence=binding.precedence,
                enabled=binding.enabled,
                params=[_field(policy.id, n, s, values.get(n)) for n, s in policy.parameters.items()],
            )
        )
    return RulesetForm(
        ruleset_id=ruleset_id,
        base=base,
        base_state=row.state,
        title=(ruleset.title.zh, ruleset.title.en),
        subject=row.subject,
        policies=out,
    )


# ------------------------------------------------------------------ a new revision from parameter changes


def require_text(value: Any, name: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput([Problem((name,), f"is required: {what}")])
    if len(value) > MAX_REASON:
        raise InvalidInput([Problem((name,), f"at most {MAX_REASON} characters")])
    return value.strip()


def _changes(
    body: Mapping[str, Any], ruleset: RulesetFile, policies: Mapping[str, Policy]
) -> tuple[dict[str, dict[str, Any]], dict[str, bool], list[Problem]]:
    """The checked parameter values and on/off switches of the body, or every problem with its place."""
    problems: list[Problem] = []
    bound = {b.policy: b for b in ruleset.policies}
    params_in = body.get("parameters", {})
    enabled_in = body.get("enabled", {})
    values: dict[str, dict[str, Any]] = {}
    switches: dict[str, bool] = {}
    if not isinstance(params_in, dict):
        return {}, {}, [Problem(("parameters",), "must be an object: policy id → {parameter: value}")]
    if not isinstance(enabled_in, dict):
        return {}, {}, [Problem(("enabled",), "must be an object: policy id → true or false")]
    if sum(len(v) if isinstance(v, dict) else 1 for v in params_in.values()) + len(enabled_in) > MAX_CHANGES:
        return {}, {}, [Problem(("parameters",), f"at most {MAX_CHANGES} changes in one revision")]
    for pid, given in params_in.items():
        if pid not in bound or pid not in policies:
            problems.append(Problem(("parameters", pid), f"ruleset {ruleset.id} binds no policy {pid!r}"))
            continue
        if not isinstance(given, dict):
            problems.append(Problem(("parameters", pid), "must be an object: parameter → value"))
            continue
        policy = policies[pid]
        for name, raw in given.items():
            spec = policy.parameters.get(name)
            if spec is None:
                known = ", ".join(sorted(policy.parameters)) or "none"
                problems.append(Problem(("parameters", pid, name), f"unknown parameter (its parameters: {known})"))
                continue
            try:
                checked = check_parameter_value(spec, raw)
            except ValueError as error:
                problems.append(Problem(("parameters", pid, name), str(error)))
                continue
            values.setdefault(pid, {})[name] = _stored(spec, checked)
    for pid, on in enabled_in.items():
        if pid not in bound:
            problems.append(Problem(("enabled", pid), f"ruleset {ruleset.id} binds no policy {pid!r}"))
        elif not isinstance(on, bool):
            problems.append(Problem(("enabled", pid), "must be true or false"))
        else:
            switches[pid] = on
    return values, switches, problems


def _located(problem: Problem, ruleset: RulesetFile) -> Problem:
    """A problem of the generated ruleset file, named by the form's place (parameters.<policy>.<name>)."""
    loc = problem.loc
    if len(loc) >= 2 and loc[0] == "policies" and isinstance(loc[1], int) and loc[1] < len(ruleset.policies):
        pid = ruleset.policies[loc[1]].policy
        rest = loc[3:] if len(loc) > 2 and loc[2] == "params" else loc[2:]
        return Problem(("parameters", pid, *rest), problem.message, record=problem.record)
    return Problem(loc, problem.message, record=problem.record, source=problem.source)


def build_files(ruleset: RulesetFile, policies: Mapping[str, Policy]) -> dict[str, str]:
    """The revision as the files ``ruleset propose`` would upload (JSON is YAML)."""
    files = {f"rulesets/{ruleset.id}.yaml": canonical_json(ruleset.model_dump(mode="json", by_alias=True))}
    for binding in ruleset.policies:
        if binding.policy in policies:
            dumped = policies[binding.policy].model_dump(mode="json", by_alias=True)
            files[f"policies/{binding.policy}.yaml"] = canonical_json(dumped)
    return files


def check_changes(db: Database, ruleset_id: str, body: Mapping[str, Any]) -> tuple[CheckedRevision, RulesetRevisionRow]:
    """The new revision's content, checked like ``validate``; InvalidInput naming each form field at fault."""
    base = body.get("base")
    if not isinstance(base, str) or not base:
        raise InvalidInput([Problem(("base",), "is required: the revision the changes start from")])
    base_row = get_revision(db, ruleset_id, base)
    ruleset, policies = _content(base_row)
    values, switches, problems = _changes(body, ruleset, policies)
    if problems:
        raise InvalidInput(problems)
    bindings = []
    changed = False
    for binding in ruleset.policies:
        params = dict(binding.params)
        policy = policies.get(binding.policy)
        current = _effective(policy, params) if policy else params
        for name, value in values.get(binding.policy, {}).items():
            spec = policy.parameters[name] if policy else None
            if spec is not None and check_parameter_value(spec, value) != current.get(name):
                params[name] = value
                changed = True
        enabled = switches.get(binding.policy, binding.enabled)
        changed = changed or enabled != binding.enabled
        bindings.append(binding.model_copy(update={"params": params, "enabled": enabled}))
    if not changed:
        raise InvalidInput([Problem(("parameters",), f"nothing changes: every value is as in revision {base}")])
    if not any(b.enabled for b in bindings):
        raise InvalidInput([Problem(("enabled",), "at least one policy stays switched on")])
    new_ruleset = ruleset.model_copy(update={"policies": bindings})
    try:
        checked = check_files(build_files(new_ruleset, policies), ruleset_id)
    except InvalidPolicy as error:
        raise InvalidInput([_located(p, new_ruleset) for p in error.problems]) from None
    return checked, base_row


def _summary_of_changes(base: RulesetRevisionRow, checked: CheckedRevision) -> list[dict[str, Any]]:
    return [c for c in business_diff_rows(*_content(base), checked.content.ruleset, dict(checked.content.policies))]


def create_from_parameters(
    db: Database, secret: str, actor: audit.Actor, ruleset_id: str, body: Mapping[str, Any], *, propose: bool = False
) -> RulesetRevisionRow:
    """A new revision from parameter changes on ``body["base"]`` (a draft, or proposed at once), with its note.

    Body: ``{"base": REVISION, "parameters": {policy: {parameter: value}}, "enabled"?: {policy: bool},
    "reason": "…"}``; values in the parameter's own terms (a rate ``"0.15"``, money ``"100000.00"``).
    One transaction: the revision, its note and its audit record, or nothing.
    """
    why = require_text(body.get("reason"), "reason", "say why (it goes into the audit record)")
    checked, base_row = check_changes(db, ruleset_id, body)
    content, now = checked.content, utc_now()
    state = "proposed" if propose else "draft"
    row = RulesetRevisionRow(
        ruleset_id=ruleset_id,
        revision=content.revision,
        digest=content.digest,
        subject=content.ruleset.subject,
        state=state,
        ruleset_json=content.ruleset_json(),
        policies_json=content.policies_json(),
        warnings_json=json.dumps(
            [{"loc": list(p.loc), "message": p.message} for p in checked.warnings], ensure_ascii=False
        ),
        file_from_year=content.ruleset.effective.from_year,
        file_to_year=content.ruleset.effective.to_year,
        created_at=now,
        created_by=actor.name,
        proposed_by=actor.name if propose else None,
        proposed_at=now if propose else None,
    )
    changes = _summary_of_changes(base_row, checked)
    with db.transaction() as session:
        repository.lock_lifecycle(session)
        existing = repository.get(session, ruleset_id, row.revision)
        if existing is not None:
            raise Conflict(
                f"these values are exactly revision {ruleset_id}@{row.revision} (state {existing.state}): "
                "identical content is the same revision",
                code="revision_exists",
            )
        repository.add(session, row)
        session.add(
            pages.RevisionNoteRow(
                ruleset_id=ruleset_id,
                revision=row.revision,
                base_revision=base_row.revision,
                reason=why,
                created_person=actor.person,
                proposed_person=actor.person if propose else None,
            )
        )
        record_transition(session, secret, actor, f"ruleset.{state}", row, why, base=base_row.revision, changes=changes)
    return row


# ------------------------------------------------------------------ review steps (person-based maker-checker)


def return_revision(
    db: Database, secret: str, actor: audit.Actor, ruleset_id: str, revision: str, comment: Any
) -> RulesetRevisionRow:
    """proposed → returned (退回) with a comment the maintainer reads; they build a new revision on it."""
    said = require_text(comment, "comment", "say what must change (the maintainer reads it)")
    with db.transaction() as session:
        row = locked_row(session, ruleset_id, revision)
        expect_state(row, "return", ("proposed",))
        note = pages.note_or_new(session, ruleset_id, revision)
        if actor.person in makers(row, note if note.created_person or note.proposed_person else None):
            raise Conflict(
                f"{actor.name} made or proposed revision {ruleset_id}@{revision}; "
                "another token holder (another person) must review it",
                code="same_person",
            )
        row.state = RETURNED
        session.add(row)
        note.returned_by, note.returned_person, note.returned_at = actor.name, actor.person, utc_now()
        note.return_comment = said
        session.add(note)
        record_transition(session, secret, actor, "ruleset.return", row, said, comment=said)
    return row


# ------------------------------------------------------------------ review: reason, replaced revision, diff


@dataclass(frozen=True)
class Review:
    row: RulesetRevisionRow
    note: pages.RevisionNoteRow | None
    reason: str | None  # why it was made (the note's, else the audit record of its upload)
    replaced: str | None
    changes: list[dict[str, Any]]
    history: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        note = self.note
        returned = None
        if note is not None and note.returned_at is not None:
            returned = {"by": note.returned_by, "at": as_utc(note.returned_at), "comment": note.return_comment}
        return {
            "ruleset_id": self.row.ruleset_id,
            "revision": self.row.revision,
            "state": self.row.state,
            "reason": self.reason,
            "base": note.base_revision if note else None,
            "replaces": self.replaced,
            "returned": returned,
            "changes": self.changes,
        }


def replaced_revision(
    rows: list[RulesetRevisionRow], row: RulesetRevisionRow, notes: Mapping[str, pages.RevisionNoteRow]
) -> str | None:
    """The revision ``row`` replaces: the one in force it was built on.

    Built on a revision that was never active (a returned proposal, a draft), it replaces what that one
    would have replaced; uploaded files replace the revision active for their first year when uploaded.
    """
    by_id = {r.revision: r for r in rows}
    seen = {row.revision}
    current = row
    while True:
        note = notes.get(current.revision)
        base = by_id.get(note.base_revision) if note is not None and note.base_revision else None
        if base is None:
            return _active_when_made(rows, current)
        if base.activated_at is not None or base.revision in seen:
            return base.revision
        seen.add(base.revision)
        current = base


def _active_when_made(rows: list[RulesetRevisionRow], row: RulesetRevisionRow) -> str | None:
    made = as_utc(row.created_at)
    best: tuple[datetime, str] | None = None
    for other in rows:
        if other.revision == row.revision or other.activated_at is None or other.active_from_year is None:
            continue
        activated = as_utc(other.activated_at)
        if activated > made or (other.retired_at is not None and as_utc(other.retired_at) <= made):
            continue
        covers = other.active_from_year <= row.file_from_year and (
            other.active_to_year is None or row.file_from_year <= other.active_to_year
        )
        if covers and (best is None or activated > best[0]):
            best = (activated, other.revision)
    return best[1] if best else None


def _param_map(ruleset: RulesetFile, policies: Mapping[str, Policy]) -> dict[str, tuple[Any, dict[str, Any]]]:
    out = {}
    for b in ruleset.policies:
        policy = policies.get(b.policy)
        if policy is not None:
            out[b.policy] = (b, _effective(policy, b.params))
    return out


def business_diff_rows(
    old_ruleset: RulesetFile,
    old_policies: Mapping[str, Policy],
    new_ruleset: RulesetFile,
    new_policies: Mapping[str, Policy],
) -> list[dict[str, Any]]:
    """What changes, in a finance bureau's words: ``{kind, policy, parameter?, zh, en, old?, new?}``."""
    before, after = _param_map(old_ruleset, old_policies), _param_map(new_ruleset, new_policies)
    out: list[dict[str, Any]] = []

    def title(pid: str) -> tuple[str, str]:
        policy = new_policies.get(pid) or old_policies[pid]
        return policy.title.zh, policy.title.en

    for pid in after:
        if pid not in before:
            zh, en = title(pid)
            out.append({"kind": "added", "policy": pid, "zh": f"新增政策：{zh}", "en": f"Policy added: {en}"})
    for pid in before:
        if pid not in after:
            zh, en = title(pid)
            out.append({"kind": "removed", "policy": pid, "zh": f"删除政策：{zh}", "en": f"Policy removed: {en}"})
    for pid, (b_new, values_new) in after.items():
        if pid not in before:
            continue
        b_old, values_old = before[pid]
        zh, en = title(pid)
        if b_old.enabled != b_new.enabled:
            on = b_new.enabled
            out.append(
                {
                    "kind": "enabled",
                    "policy": pid,
                    "old": b_old.enabled,
                    "new": on,
                    "zh": f"{zh}：{'启用' if on else '停用'}",
                    "en": f"{en}: {'switched on' if on else 'switched off'}",
                }
            )
        policy = new_policies[pid]
        for name, spec in policy.parameters.items():
            old, new = values_old.get(name), values_new.get(name)
            if old == new:
                continue
            label = label_of(pid, name, spec)
            out.append(
                {
                    "kind": "parameter",
                    "policy": pid,
                    "parameter": name,
                    "old": json.loads(json.dumps(old, default=str)),
                    "new": json.loads(json.dumps(new, default=str)),
                    "zh": f"{zh}：{label[0]} {worded(spec, name, old, 'zh')} → {worded(spec, name, new, 'zh')}",
                    "en": f"{en}: {label[1]} {worded(spec, name, old, 'en')} → {worded(spec, name, new, 'en')}",
                }
            )
        if b_old.precedence != b_new.precedence:
            out.append(
                {
                    "kind": "precedence",
                    "policy": pid,
                    "old": b_old.precedence,
                    "new": b_new.precedence,
                    "zh": f"{zh}：适用顺序 第{b_old.precedence}位 → 第{b_new.precedence}位",
                    "en": f"{en}: order {b_old.precedence} → {b_new.precedence}",
                }
            )
        if old_policies[pid].model_dump(exclude={"parameters"}) != new_policies[pid].model_dump(exclude={"parameters"}):
            out.append(
                {
                    "kind": "text",
                    "policy": pid,
                    "zh": f"{zh}：政策条文（条件、动作或说明）有修改",
                    "en": f"{en}: the policy's rules, actions or wording changed",
                }
            )
    return out


def _reason_of(records: list[Any], revision: str) -> str | None:
    for record in records:
        doc = json.loads(record.input_json)
        if doc.get("revision") == revision and record.action in ("ruleset.draft", "ruleset.proposed"):
            reason = doc.get("reason")
            return reason if isinstance(reason, str) else None
    return None


def review(db: Database, ruleset_id: str, revision: str) -> Review:
    """Why the revision was made, what it replaces, what it changes in business words, its return if any."""
    with db.transaction() as session:
        rows = repository.revisions(session, ruleset_id)
        all_notes = pages.notes(session, ruleset_id)
        records = pages.ruleset_records(session, ruleset_id)
    row = next((r for r in rows if r.revision == revision), None)
    if row is None:
        raise NotFound(f"no revision {revision!r} of ruleset {ruleset_id!r}")
    note = all_notes.get(revision)
    replaced = replaced_revision(rows, row, all_notes)
    changes: list[dict[str, Any]] = []
    old_row = next((r for r in rows if r.revision == replaced), None)
    if old_row is not None:
        changes = business_diff_rows(*_content(old_row), *_content(row))
    reason = note.reason if note is not None and note.reason else _reason_of(records, revision)
    return Review(row=row, note=note, reason=reason, replaced=replaced, changes=changes)


# ------------------------------------------------------------------ history


WHAT = {
    "ruleset.install": ("首次安装并启用", "installed and activated"),
    "ruleset.draft": ("建立草稿", "draft created"),
    "ruleset.proposed": ("建立并提交审核", "created and proposed"),
    "ruleset.propose": ("提交审核", "proposed"),
    "ruleset.approve": ("审核通过", "approved"),
    "ruleset.return": ("退回", "returned"),
    "ruleset.activate": ("启用", "activated"),
    "ruleset.retire": ("停用", "retired"),
}


@dataclass(frozen=True)
class HistoryRow:
    row: RulesetRevisionRow
    replaced: str | None
    returned_comment: str | None
    steps: list[dict[str, Any]]  # {action, what (zh, en), by, at, why}


def history(db: Database, ruleset_id: str) -> list[HistoryRow]:
    """Every revision, newest first, with each step: who, when, why (from the audit records)."""
    with db.transaction() as session:
        rows = repository.revisions(session, ruleset_id)
        all_notes = pages.notes(session, ruleset_id)
        records = pages.ruleset_records(session, ruleset_id)
    if not rows:
        raise NotFound(f"no ruleset {ruleset_id!r}")
    steps: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        doc = json.loads(record.input_json)
        revision = doc.get("revision") or record.ruleset_revision
        steps.setdefault(str(revision), []).append(
            {
                "action": record.action,
                "what": WHAT.get(record.action, (record.action, record.action)),
                "by": record.actor_name,
                "at": record.recorded_at,
                "why": doc.get("reason"),
                "seq": record.seq,
            }
        )
    out = []
    for row in sorted(rows, key=lambda r: as_utc(r.created_at), reverse=True):
        note = all_notes.get(row.revision)
        out.append(
            HistoryRow(
                row=row,
                replaced=replaced_revision(rows, row, all_notes),
                returned_comment=note.return_comment if note else None,
                steps=steps.get(row.revision, []),
            )
        )
    return out


# ------------------------------------------------------------------ impact on a dataset


@dataclass(frozen=True)
class DatasetChoice:
    id: str
    name: str
    fiscal_year: int | None
    projects: int
    created_at: datetime


def dataset_choices(db: Database, limit: int = 200) -> list[DatasetChoice]:
    """The stored datasets, newest first (a person picks one by its name)."""
    from service.storage.repositories import datasets

    with db.transaction() as session:
        rows, _ = datasets.page(session, limit, 0)
    out = [DatasetChoice(r.id, r.source, r.fiscal_year, r.projects, r.created_at) for r in rows]
    return sorted(out, key=lambda d: as_utc(d.created_at), reverse=True)


def pick_dataset(choices: list[DatasetChoice], fiscal_year: int | None, dataset_id: str | None) -> DatasetChoice | None:
    """The one picked, else the latest dataset of the fiscal year, else the latest of all."""
    if dataset_id:
        picked = next((d for d in choices if d.id == dataset_id), None)
        if picked is None:
            raise InvalidInput([Problem(("dataset",), "no such dataset: pick one from the list")])
        return picked
    of_year = [d for d in choices if fiscal_year is None or d.fiscal_year == fiscal_year]
    pool = of_year or choices
    return pool[0] if pool else None


def impact_summary(
    state: Any, ruleset_id: str, revision: str, against: str | None, dataset: DatasetChoice, top: int = 10
) -> dict[str, Any]:
    """Totals before and after, departments that change, and the lines that change most (largest first)."""
    from service.app import rulesets

    body: dict[str, Any] = {"dataset_id": dataset.id}
    result = rulesets.impact_preview(state, ruleset_id, revision, body, against)
    lines = sorted(result["lines"], key=lambda line: abs(Decimal(line["change"])), reverse=True)
    departments = [d for d in result["departments"] if Decimal(d["change"]) != 0]
    return {
        **result,
        "dataset": {"id": dataset.id, "name": dataset.name, "fiscal_year": dataset.fiscal_year},
        "top_lines": lines[:top],
        "changed_departments": departments,
        "unchanged_departments": len(result["departments"]) - len(departments),
    }
