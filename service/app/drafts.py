"""Budget drafts (编制方案): the compiler's adjustments with reasons, submission, approval, the final budget.

Rules only recommend; the compiler decides. A draft is made from one recorded recommendation (a
decision) and named; each line's final amount is the recommendation unless the compiler adjusts it
(人工调整), which always needs a reason; the recommendation itself is never changed.

    editing ──submit──▶ submitted ──approve──▶ final (定稿, immutable)
       ▲                    │
       └──────return────────┘   (returned: editable again; a comment says why)

- amounts are exact money (Decimal, two decimals), ≥ 0;
- submit is refused while the final total exceeds the envelope, saying by how much;
- approve and return are for an approver who is a different PERSON (``Actor.person``) from everyone
  who made the draft: its creator, its submitter and every adjuster;
- a final draft never changes: a new version (copying its adjustments) is the way to change it;
- every creation, adjustment, submission, return and approval is an audit record in the same
  transaction as the change; :func:`replay` recomputes a draft's figures from its decision and its
  audit trail, and :func:`verify` does so for every draft.

The deviation report (偏离建议清单, :func:`deviation_report`) lists every line whose final amount
differs from the recommendation as plain :class:`DeviationRow` rows, for the pages, the API, the
workbook and the budget document alike.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError

from service import audit
from service.app import roles
from service.app.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from service.domain.money import ZERO, money_text
from service.domain.records import Money
from service.domain.ruleset import canonical_json
from service.report.deviations import DepartmentDeviation as DepartmentDeviation
from service.report.deviations import DeviationRow as DeviationRow
from service.report.deviations import DeviationTotals as DeviationTotals
from service.report.deviations import DraftHeading
from service.report.deviations import deviation_totals as deviation_totals
from service.storage import drafts as store
from service.storage.db import Database, as_utc, utc_now
from service.storage.drafts import AdjustmentRow, DraftEventRow, DraftRow
from service.storage.models import DecisionRow

EDITING, SUBMITTED, RETURNED, FINAL = "editing", "submitted", "returned", "final"
STATES = (EDITING, SUBMITTED, RETURNED, FINAL)
STATE_WORDS = {EDITING: "编制中", SUBMITTED: "待审核", RETURNED: "已退回", FINAL: "定稿"}
EDITABLE = (EDITING, RETURNED)

MAKERS = roles.DRAFT_MAKERS  # 预算编制人员: create, adjust, submit, new versions
CHECKERS = roles.DRAFT_CHECKERS  # 审核人员: approve, return
READERS = roles.DRAFT_READERS

MAX_NAME = 200
MAX_REASON = 1000
MAX_COMMENT = 2000
MAX_LIST = 500

ALLOCATION_TITLES = {
    "envelope-allocation": "财力可安排数内按档次与比例安排",
    "pool-allocation": "收回统筹资金安排亟需领域",
}
_MONEY = TypeAdapter(Money)


# ------------------------------------------------------------------------------------------ views


@dataclass(frozen=True, slots=True)
class DraftLine:
    """One line of a draft: the recommendation and the final amount (= the recommendation unless adjusted)."""

    project_id: str
    project_name: str
    department_id: str
    department_name: str
    kind: str
    status: str  # the recommendation's status of the line
    recommended: Decimal
    final: Decimal
    adjusted: bool
    reason: str | None
    adjusted_by: str | None
    adjusted_at: datetime | None
    policies: tuple[str, ...]  # ids of the policies behind the recommendation (applied or waived)

    @property
    def difference(self) -> Decimal:
        return self.final - self.recommended


@dataclass(frozen=True, slots=True)
class DraftEvent:
    action: str
    actor_name: str
    actor_role: str
    at: datetime
    comment: str | None
    audit_seq: int


@dataclass(frozen=True, slots=True)
class Draft:
    """A draft as people see it: its head, every line, its totals and its history."""

    id: str
    name: str
    decision_id: str
    version: int
    previous_id: str | None
    state: str
    fiscal_year: int
    envelope: Decimal | None
    created_at: datetime
    created_by: str
    submitted_at: datetime | None
    submitted_by: str | None
    approved_at: datetime | None
    approved_by: str | None
    comment: str | None
    audit_seq: int
    ruleset: dict[str, str]
    lines: tuple[DraftLine, ...]
    events: tuple[DraftEvent, ...] = ()

    @property
    def recommended_total(self) -> Decimal:
        return sum((line.recommended for line in self.lines), ZERO)

    @property
    def final_total(self) -> Decimal:
        return sum((line.final for line in self.lines), ZERO)

    @property
    def over_envelope(self) -> Decimal:
        """How much the final total exceeds the envelope (0 when it fits or there is no envelope)."""
        if self.envelope is None:
            return ZERO
        return max(self.final_total - self.envelope, ZERO)

    @property
    def state_words(self) -> str:
        return STATE_WORDS.get(self.state, self.state)


@dataclass(frozen=True, slots=True)
class ComparedLine:
    project_id: str
    project_name: str
    department_id: str
    a: Decimal | None  # None: the line is not in A
    b: Decimal | None

    @property
    def difference(self) -> Decimal:
        return (self.b or ZERO) - (self.a or ZERO)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two drafts (final amounts) or two recommendations (recommended amounts): what differs."""

    kind: str  # drafts | decisions
    a: str
    b: str
    total_a: Decimal
    total_b: Decimal
    lines: tuple[ComparedLine, ...]  # only the lines that differ
    lines_compared: int

    @property
    def difference(self) -> Decimal:
        return self.total_b - self.total_a


@dataclass(frozen=True, slots=True)
class Replay:
    """A draft's figures recomputed from its decision and its audit trail, against what is stored."""

    draft_id: str
    state: str
    reproduced: bool
    final_total_stored: Decimal
    final_total_replayed: Decimal
    problems: tuple[str, ...] = field(default=())


# ------------------------------------------------------------------------------------------ inputs


def _text(value: Any, name: str, limit: int, *, required: bool, where: tuple[str | int, ...] = ()) -> str | None:
    loc = (*where, name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput([Problem(loc, f"{name} is required (必填)")])
        return None
    if not isinstance(value, str):
        raise InvalidInput([Problem(loc, f"{name} must be text")])
    text = value.strip()
    if len(text) > limit:
        raise InvalidInput([Problem(loc, f"{name} is {len(text)} characters; at most {limit}")])
    return text


def parse_amount(value: Any, project_id: str) -> Decimal:
    """Exact money ≥ 0 with at most two decimals (a string or a number read through its decimal text)."""
    where = f"project_id {project_id}"
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput([Problem(("amount",), "amount is required (必填)", where)])
    try:
        amount: Decimal = _MONEY.validate_python(value)
    except ValidationError as error:
        message = error.errors(include_url=False)[0]["msg"]
        if any(e["type"] == "greater_than_equal" for e in error.errors(include_url=False)):
            message = f"must not be negative (金额不能为负数), got {value!r}"
        elif any(e["type"] == "decimal_max_places" for e in error.errors(include_url=False)):
            message = f"has more than 2 decimal places (money is to the fen), got {value!r}"
        raise InvalidInput([Problem(("amount",), message, where)]) from None
    return amount


# ------------------------------------------------------------------------------------------ reading


def _decision_or_404(session: Any, decision_id: str) -> DecisionRow:
    row = store.decision(session, decision_id) if isinstance(decision_id, str) and len(decision_id) <= 36 else None
    if row is None:
        raise NotFound(f"no recorded recommendation {decision_id!r} (测算结果不存在)")
    return row


def _draft_or_404(session: Any, draft_id: str, *, for_update: bool = False) -> DraftRow:
    row = store.get(session, draft_id, for_update=for_update) if len(draft_id) <= 36 else None
    if row is None:
        raise NotFound(f"no draft {draft_id!r} (编制方案不存在)")
    return row


@dataclass(frozen=True, slots=True)
class _RecommendedLine:
    project_id: str
    project_name: str
    department_id: str
    department_name: str
    kind: str
    status: str
    recommended: Decimal
    policies: tuple[str, ...]


def _recommendation(decision: DecisionRow) -> list[_RecommendedLine]:
    result = json.loads(decision.result_json)
    names = {d["department_id"]: d.get("name", "") for d in result.get("summary", {}).get("departments", [])}
    request = json.loads(decision.input_json)
    if isinstance(request, Mapping):
        for d in request.get("departments") or []:
            if isinstance(d, Mapping) and isinstance(d.get("department_id"), str):
                names.setdefault(d["department_id"], str(d.get("name", "")))
    out = []
    for line in result.get("lines", []):
        policies = tuple(
            dict.fromkeys(e["policy"] for e in line.get("explanations", []) if e.get("outcome") != "superseded")
        )
        out.append(
            _RecommendedLine(
                line["project_id"],
                line.get("name") or "",
                line["department_id"],
                names.get(line["department_id"], ""),
                line.get("kind", "project"),
                line["status"],
                Decimal(line["recommended"]),
                policies,
            )
        )
    return out


def _lines(recommended: Sequence[_RecommendedLine], adjustments: Iterable[AdjustmentRow]) -> tuple[DraftLine, ...]:
    by_line = {a.project_id: a for a in adjustments}
    out = []
    for r in recommended:
        a = by_line.get(r.project_id)
        out.append(
            DraftLine(
                r.project_id,
                r.project_name,
                r.department_id,
                r.department_name,
                r.kind,
                r.status,
                r.recommended,
                Decimal(a.amount) if a else r.recommended,
                a is not None,
                a.reason if a else None,
                a.adjusted_by if a else None,
                _utc(a.adjusted_at) if a else None,
                r.policies,
            )
        )
    return tuple(out)


def _view(session: Any, row: DraftRow) -> Draft:
    decision = _decision_or_404(session, row.decision_id)
    lines = _lines(_recommendation(decision), store.adjustments(session, row.id))
    events = tuple(
        DraftEvent(e.action, e.actor_name, e.actor_role, as_utc(e.at), e.comment, e.audit_seq)
        for e in store.events(session, row.id)
    )
    return Draft(
        id=row.id,
        name=row.name,
        decision_id=row.decision_id,
        version=row.version,
        previous_id=row.previous_id,
        state=row.state,
        fiscal_year=row.fiscal_year,
        envelope=Decimal(row.envelope) if row.envelope is not None else None,
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
        submitted_at=_utc(row.submitted_at),
        submitted_by=row.submitted_by,
        approved_at=_utc(row.approved_at),
        approved_by=row.approved_by,
        comment=row.comment,
        audit_seq=row.audit_seq,
        ruleset={"id": decision.ruleset_id, "revision": decision.ruleset_revision, "digest": decision.ruleset_digest},
        lines=lines,
        events=events,
    )


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC whatever the database gives back (SQLite returns naive UTC, PostgreSQL aware)."""
    return as_utc(value) if value is not None else None


def get_draft(db: Database, actor: audit.Actor, draft_id: str) -> Draft:
    roles.require(actor, READERS)
    with db.transaction() as session:
        return _view(session, _draft_or_404(session, draft_id))


def list_drafts(
    db: Database, actor: audit.Actor, limit: int = 50, offset: int = 0, decision_id: str | None = None
) -> tuple[list[DraftRow], int]:
    roles.require(actor, READERS)
    limit = max(1, min(limit, MAX_LIST))
    with db.transaction() as session:
        return store.page(session, limit, max(0, offset), decision_id)


# ------------------------------------------------------------------------------------------ changes


def _figures(lines: Sequence[DraftLine]) -> dict[str, Any]:
    """The final figures as the audit trail keeps them: every line's final amount, the total, a digest."""
    amounts = {line.project_id: money_text(line.final) for line in lines}
    text = canonical_json(amounts)
    return {
        "final": amounts,
        "final_total": money_text(sum((line.final for line in lines), ZERO)),
        "digest": "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }


def _record(
    session: Any,
    secret: str,
    actor: audit.Actor,
    row: DraftRow,
    action: str,
    input_doc: Mapping[str, Any],
    result_doc: Mapping[str, Any],
    comment: str | None = None,
) -> int:
    decision = _decision_or_404(session, row.decision_id)
    record = audit.append(
        session,
        secret,
        actor=actor,
        action=action,
        subject=row.id,
        input_doc={"decision_id": row.decision_id, **input_doc},
        result_doc=dict(result_doc),
        ruleset={"id": decision.ruleset_id, "revision": decision.ruleset_revision, "digest": decision.ruleset_digest},
    )
    store.add_event(
        session,
        DraftEventRow(
            draft_id=row.id,
            action=action,
            actor_name=actor.name,
            actor_role=actor.role,
            at=utc_now(),
            comment=comment,
            audit_seq=record.seq,
        ),
    )
    return record.seq


def create_draft(
    db: Database, secret: str, actor: audit.Actor, decision_id: Any, name: Any, previous_id: Any = None
) -> Draft:
    """A new draft of a recorded recommendation; with ``previous_id``, a new version copying its adjustments."""
    roles.require(actor, MAKERS)
    title = _text(name, "name", MAX_NAME, required=True)
    if not isinstance(decision_id, str) or not decision_id.strip():
        raise InvalidInput([Problem(("decision_id",), "decision_id is required (必填)")])
    if previous_id is not None and not isinstance(previous_id, str):
        raise InvalidInput([Problem(("previous_id",), "previous_id must be a draft id")])
    try:
        return _create(db, secret, actor, decision_id.strip(), title or "", previous_id or None)
    except IntegrityError:  # two versions numbered at the same moment: the unique (decision, version) held
        raise Conflict(
            "another draft of this recommendation was made at the same moment; try again",
            code="draft_version_taken",
        ) from None


def _create(
    db: Database, secret: str, actor: audit.Actor, decision_id: str, title: str, previous_id: str | None
) -> Draft:
    now = utc_now()
    with db.transaction() as session:
        decision = _decision_or_404(session, decision_id)
        copied: list[AdjustmentRow] = []
        if previous_id:
            previous = _draft_or_404(session, previous_id)
            if previous.decision_id != decision.id:
                raise Conflict(
                    f"draft {previous_id} was made from another recommendation ({previous.decision_id})",
                    code="draft_other_decision",
                )
            copied = store.adjustments(session, previous.id)
        row = DraftRow(
            id=str(uuid.uuid4()),
            name=title,
            decision_id=decision.id,
            version=store.next_version(session, decision.id),
            previous_id=previous_id,
            state=EDITING,
            fiscal_year=decision.fiscal_year,
            envelope=decision.envelope,
            created_at=now,
            created_by=actor.name,
            created_by_person=actor.person,
            updated_at=now,
            audit_seq=0,
        )
        store.add(session, row)
        carried = [
            {"project_id": a.project_id, "amount": a.amount, "reason": a.reason, "adjusted_by": a.adjusted_by}
            for a in copied
        ]
        seq = _record(
            session,
            secret,
            actor,
            row,
            "draft-create",
            {"name": row.name, "version": row.version, "previous_id": row.previous_id, "adjustments": carried},
            {"draft_id": row.id, "state": row.state},
        )
        for a in copied:
            store.save_adjustment(
                session,
                AdjustmentRow(
                    draft_id=row.id,
                    project_id=a.project_id,
                    amount=a.amount,
                    reason=a.reason,
                    adjusted_by=a.adjusted_by,
                    adjusted_by_person=a.adjusted_by_person,
                    adjusted_at=a.adjusted_at,
                    audit_seq=seq,
                ),
            )
        row.audit_seq = seq
        store.save(session, row)
        return _view(session, row)


def _editable(row: DraftRow) -> None:
    if row.state == FINAL:
        raise Conflict(
            f"draft {row.id} is final (定稿) and cannot change; make a new version of it to change it",
            code="draft_final",
        )
    if row.state not in EDITABLE:
        raise Conflict(
            f"draft {row.id} is {row.state} ({STATE_WORDS[row.state]}): it can be changed only while being edited "
            "or after it was returned",
            code="draft_not_editable",
        )


def adjust(
    db: Database, secret: str, actor: audit.Actor, draft_id: str, project_id: Any, amount: Any, reason: Any
) -> Draft:
    """Set one line's final amount (人工调整), with the required reason. The recommendation is not touched."""
    roles.require(actor, MAKERS)
    if not isinstance(project_id, str) or not project_id:
        raise InvalidInput([Problem(("project_id",), "project_id is required (必填)")])
    value = parse_amount(amount, project_id)
    why = _text(reason, "reason", MAX_REASON, required=True)
    with db.transaction() as session:
        row = _draft_or_404(session, draft_id, for_update=True)
        _editable(row)
        lines = {r.project_id: r for r in _recommendation(_decision_or_404(session, row.decision_id))}
        if project_id not in lines:
            raise NotFound(f"draft {row.id} has no line {project_id!r} (该方案没有此项目)")
        seq = _record(
            session,
            secret,
            actor,
            row,
            "draft-adjust",
            {"project_id": project_id, "amount": money_text(value), "reason": why},
            {"recommended": money_text(lines[project_id].recommended), "final": money_text(value)},
        )
        existing = store.adjustment(session, row.id, project_id)
        adjusted = existing or AdjustmentRow(
            draft_id=row.id,
            project_id=project_id,
            amount="",
            reason="",
            adjusted_by="",
            adjusted_by_person="",
            adjusted_at=utc_now(),
            audit_seq=seq,
        )
        adjusted.amount = money_text(value)
        adjusted.reason = why or ""
        adjusted.adjusted_by = actor.name
        adjusted.adjusted_by_person = actor.person
        adjusted.adjusted_at = utc_now()
        adjusted.audit_seq = seq
        store.save_adjustment(session, adjusted)
        row.updated_at = utc_now()
        row.audit_seq = seq
        store.save(session, row)
        return _view(session, row)


def submit(db: Database, secret: str, actor: audit.Actor, draft_id: str) -> Draft:
    """Submit for approval (提交审核); refused while the final total exceeds the envelope."""
    roles.require(actor, MAKERS)
    with db.transaction() as session:
        row = _draft_or_404(session, draft_id, for_update=True)
        _editable(row)
        view = _view(session, row)
        if view.over_envelope > 0:
            assert view.envelope is not None
            total, envelope, over = (money_text(v) for v in (view.final_total, view.envelope, view.over_envelope))
            raise Conflict(
                f"定稿总额{total}元超出财力可安排数{envelope}元，超出{over}元，不能提交审核。 "
                f"The final total {total} exceeds the envelope {envelope} by {over}.",
                code="over_envelope",
                details=[
                    {
                        "loc": ["final_total"],
                        "message": f"exceeds the envelope by {money_text(view.over_envelope)}",
                        "over_by": money_text(view.over_envelope),
                        "final_total": money_text(view.final_total),
                        "envelope": money_text(view.envelope),
                    }
                ],
            )
        now = utc_now()
        row.state, row.submitted_at, row.updated_at = SUBMITTED, now, now
        row.submitted_by, row.submitted_by_person = actor.name, actor.person
        row.audit_seq = _record(
            session, secret, actor, row, "draft-submit", {}, {"state": SUBMITTED, **_figures(view.lines)}
        )
        store.save(session, row)
        return _view(session, row)


def _makers(session: Any, row: DraftRow) -> set[str]:
    people = {row.created_by_person}
    if row.submitted_by_person:
        people.add(row.submitted_by_person)
    people |= {a.adjusted_by_person for a in store.adjustments(session, row.id)}
    return people


def _checker(session: Any, actor: audit.Actor, row: DraftRow) -> None:
    roles.require(actor, CHECKERS)
    if row.state != SUBMITTED:
        if row.state == FINAL:
            raise Conflict(f"draft {row.id} is already final (定稿)", code="draft_final")
        raise Conflict(
            f"draft {row.id} is {row.state} ({STATE_WORDS[row.state]}): only a submitted draft is approved or returned",
            code="draft_not_submitted",
        )
    if actor.person in _makers(session, row):
        raise Forbidden(
            "审核人员不能审核自己编制、调整或提交的方案（须由另一人审核）。 "
            "The approver must be a different person from whoever made, adjusted or submitted the draft.",
            code="same_person",
        )


def approve(db: Database, secret: str, actor: audit.Actor, draft_id: str, comment: Any = None) -> Draft:
    """Approve (审核通过): the draft becomes final (定稿) with its figures in the audit record."""
    note = _text(comment, "comment", MAX_COMMENT, required=False)
    with db.transaction() as session:
        row = _draft_or_404(session, draft_id, for_update=True)
        _checker(session, actor, row)
        view = _view(session, row)
        figures = _figures(view.lines)
        now = utc_now()
        row.state, row.approved_at, row.updated_at = FINAL, now, now
        row.approved_by, row.approved_by_person = actor.name, actor.person
        row.comment = note
        row.final_total = figures["final_total"]
        row.audit_seq = _record(
            session, secret, actor, row, "draft-approve", {"comment": note}, {"state": FINAL, **figures}, note
        )
        store.save(session, row)
        return _view(session, row)


def return_draft(db: Database, secret: str, actor: audit.Actor, draft_id: str, comment: Any) -> Draft:
    """Return (退回) to the compiler with a required comment; the draft is editable again."""
    note = _text(comment, "comment", MAX_COMMENT, required=True)
    with db.transaction() as session:
        row = _draft_or_404(session, draft_id, for_update=True)
        _checker(session, actor, row)
        row.state, row.updated_at, row.comment = RETURNED, utc_now(), note
        row.audit_seq = _record(
            session, secret, actor, row, "draft-return", {"comment": note}, {"state": RETURNED}, note
        )
        store.save(session, row)
        return _view(session, row)


# ------------------------------------------------------------------------------------------ reports


@cache
def _policy_titles() -> dict[str, str]:
    from service.policyfiles import Catalog

    try:
        catalog = Catalog.load()
    except Exception:  # the titles are a courtesy: ids are shown when the files cannot be read
        return dict(ALLOCATION_TITLES)
    return {**{pid: p.title.zh for pid, p in catalog.policies.items()}, **ALLOCATION_TITLES}


def policy_title(policy_id: str) -> str:
    return _policy_titles().get(policy_id, policy_id)


def deviation_rows(lines: Iterable[DraftLine]) -> list[DeviationRow]:
    """The deviation report of a draft's lines: every line whose final amount differs, in draft order."""
    return [
        DeviationRow(
            project_id=line.project_id,
            project_name=line.project_name,
            department_id=line.department_id,
            department_name=line.department_name,
            recommended=line.recommended,
            final=line.final,
            difference=line.difference,
            reason=line.reason or "",
            adjusted_by=line.adjusted_by or "",
            adjusted_at=line.adjusted_at or datetime.min,
            policies=tuple(policy_title(p) for p in line.policies),
            policy_ids=line.policies,
        )
        for line in lines
        if line.final != line.recommended
    ]


def heading(d: Draft) -> DraftHeading:
    """What an export says about the draft: its name and version, whether it is final, both totals."""
    return DraftHeading(
        draft_id=d.id,
        name=d.name,
        version=d.version,
        state_words=d.state_words,
        is_final=d.state == FINAL,
        recommended_total=d.recommended_total,
        final_total=d.final_total,
        approved_by=d.approved_by,
        approved_at=d.approved_at,
    )


def deviation_report(db: Database, actor: audit.Actor, draft_id: str) -> list[DeviationRow]:
    """偏离建议清单 of a draft: one :class:`DeviationRow` per line whose final amount differs."""
    return deviation_rows(get_draft(db, actor, draft_id).lines)


def deviation_json(rows: Sequence[DeviationRow]) -> dict[str, Any]:
    """The deviation report as JSON-ready data (money as two-decimal strings, times ISO-8601 UTC)."""
    totals = deviation_totals(rows)

    def row_json(r: DeviationRow) -> dict[str, Any]:
        data = asdict(r)
        for k in ("recommended", "final", "difference"):
            data[k] = money_text(data[k])
        data["adjusted_at"] = r.adjusted_at.isoformat()
        data["policies"] = list(r.policies)
        data["policy_ids"] = list(r.policy_ids)
        return data

    return {
        "lines": [row_json(r) for r in rows],
        "totals": {
            "lines": totals.lines,
            "up": money_text(totals.up),
            "down": money_text(totals.down),
            "net": money_text(totals.net),
        },
        "departments": [
            {
                "department_id": d.department_id,
                "department_name": d.department_name,
                "lines": d.lines,
                "up": money_text(d.up),
                "down": money_text(d.down),
                "net": money_text(d.net),
            }
            for d in totals.departments
        ],
    }


_Amounts = Mapping[str, tuple[str, str, Decimal]]  # project_id -> (name, department_id, amount)


def _compare(kind: str, a: str, b: str, left: _Amounts, right: _Amounts) -> Comparison:
    changed = []
    for pid in [*left, *(p for p in right if p not in left)]:
        la, lb = left.get(pid), right.get(pid)
        amount_a = la[2] if la else None
        amount_b = lb[2] if lb else None
        if amount_a != amount_b:
            name, department, _ = la or lb or ("", "", ZERO)
            changed.append(ComparedLine(pid, name, department, amount_a, amount_b))
    return Comparison(
        kind,
        a,
        b,
        sum((v[2] for v in left.values()), ZERO),
        sum((v[2] for v in right.values()), ZERO),
        tuple(changed),
        len(set(left) | set(right)),
    )


def compare_drafts(db: Database, actor: audit.Actor, a: str, b: str) -> Comparison:
    """Two drafts' final amounts: the lines and totals that differ."""
    first, second = get_draft(db, actor, a), get_draft(db, actor, b)
    left = {line.project_id: (line.project_name, line.department_id, line.final) for line in first.lines}
    right = {line.project_id: (line.project_name, line.department_id, line.final) for line in second.lines}
    return _compare("drafts", a, b, left, right)


def compare_decisions(db: Database, actor: audit.Actor, a: str, b: str) -> Comparison:
    """Two recommendations' recommended amounts: the lines and totals that differ."""
    roles.require(actor, READERS)
    with db.transaction() as session:
        first, second = _decision_or_404(session, a), _decision_or_404(session, b)
        left = {r.project_id: (r.project_name, r.department_id, r.recommended) for r in _recommendation(first)}
        right = {r.project_id: (r.project_name, r.department_id, r.recommended) for r in _recommendation(second)}
    return _compare("decisions", a, b, left, right)


def comparison_json(c: Comparison) -> dict[str, Any]:
    def amount(value: Decimal | None) -> str | None:
        return money_text(value) if value is not None else None

    return {
        "kind": c.kind,
        "a": c.a,
        "b": c.b,
        "totals": {"a": money_text(c.total_a), "b": money_text(c.total_b), "difference": money_text(c.difference)},
        "lines_compared": c.lines_compared,
        "lines": [
            {
                "project_id": line.project_id,
                "project_name": line.project_name,
                "department_id": line.department_id,
                "a": amount(line.a),
                "b": amount(line.b),
                "difference": money_text(line.difference),
            }
            for line in c.lines
        ],
    }


# ------------------------------------------------------------------------------------------ replay, verify


def _replay_row(session: Any, row: DraftRow) -> Replay:
    """Recompute the final figures from the decision and the draft's audit trail; compare with the store."""
    problems: list[str] = []
    recommended = _recommendation(_decision_or_404(session, row.decision_id))
    finals = {r.project_id: r.recommended for r in recommended}
    approved_figures: dict[str, Any] | None = None
    trail = store.audit_trail(session, row.id)
    for record in trail:
        doc, result = json.loads(record.input_json), json.loads(record.result_json)
        if record.action == "draft-create":
            for carried in doc.get("adjustments", []):
                finals[carried["project_id"]] = Decimal(carried["amount"])
        elif record.action == "draft-adjust":
            finals[doc["project_id"]] = Decimal(doc["amount"])
        elif record.action == "draft-approve":
            approved_figures = result
    if not trail or trail[0].action != "draft-create":
        problems.append(f"draft {row.id}: its creation is not in the audit trail")
    stored = {line.project_id: line.final for line in _lines(recommended, store.adjustments(session, row.id))}
    for pid, amount in finals.items():
        if stored.get(pid) != amount:
            problems.append(f"line {pid}: stored final {stored.get(pid)} but the audit trail gives {amount}")
    replayed_total = sum(finals.values(), ZERO)
    stored_total = sum(stored.values(), ZERO)
    if row.state == FINAL:
        if approved_figures is None:
            problems.append(f"draft {row.id} is final but its approval is not in the audit trail")
        else:
            figures = {pid: money_text(v) for pid, v in finals.items()}
            if figures != approved_figures.get("final"):
                problems.append("the approved figures differ from the figures replayed from the audit trail")
            if row.final_total != approved_figures.get("final_total"):
                recorded = approved_figures.get("final_total")
                problems.append(f"stored final total {row.final_total} but the approval recorded {recorded}")
    if trail and trail[-1].seq != row.audit_seq:
        problems.append(f"the draft names audit record {row.audit_seq}; its last audit record is {trail[-1].seq}")
    return Replay(row.id, row.state, not problems, stored_total, replayed_total, tuple(problems))


def replay(db: Database, actor: audit.Actor, draft_id: str) -> Replay:
    """复核重算 of a draft: its figures recomputed from its recommendation and its audit trail."""
    roles.require(actor, READERS)
    with db.transaction() as session:
        return _replay_row(session, _draft_or_404(session, draft_id))


def verify(db: Database, actor: audit.Actor) -> list[Replay]:
    """Every draft replayed against the audit trail; those that do not reproduce are returned."""
    roles.require(actor, READERS)
    return verify_all(db)[1]


def verify_all(db: Database) -> tuple[int, list[Replay]]:
    """(how many drafts were replayed, those that do not reproduce): for ``budget-rules audit verify``."""
    bad = []
    with db.transaction() as session:
        ids = store.all_ids(session)
        for draft_id in ids:
            result = _replay_row(session, _draft_or_404(session, draft_id))
            if not result.reproduced:
                bad.append(result)
    return len(ids), bad


def replay_json(r: Replay) -> dict[str, Any]:
    return {
        "draft_id": r.draft_id,
        "state": r.state,
        "reproduced": r.reproduced,
        "final_total_stored": money_text(r.final_total_stored),
        "final_total_replayed": money_text(r.final_total_replayed),
        "problems": list(r.problems),
    }


def draft_json(d: Draft, *, with_lines: bool = True) -> dict[str, Any]:
    """A draft as JSON-ready data (money as two-decimal strings, times ISO-8601 UTC)."""

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    data: dict[str, Any] = {
        "draft_id": d.id,
        "name": d.name,
        "decision_id": d.decision_id,
        "version": d.version,
        "previous_id": d.previous_id,
        "state": d.state,
        "fiscal_year": d.fiscal_year,
        "envelope": money_text(d.envelope) if d.envelope is not None else None,
        "ruleset": d.ruleset,
        "created_at": when(d.created_at),
        "created_by": d.created_by,
        "submitted_at": when(d.submitted_at),
        "submitted_by": d.submitted_by,
        "approved_at": when(d.approved_at),
        "approved_by": d.approved_by,
        "comment": d.comment,
        "audit_seq": d.audit_seq,
        "totals": {
            "recommended": money_text(d.recommended_total),
            "final": money_text(d.final_total),
            "difference": money_text(d.final_total - d.recommended_total),
            "over_envelope": money_text(d.over_envelope),
        },
        "events": [
            {"action": e.action, "actor": e.actor_name, "role": e.actor_role, "at": when(e.at), "comment": e.comment}
            for e in d.events
        ],
    }
    if with_lines:
        data["lines"] = [
            {
                "project_id": line.project_id,
                "project_name": line.project_name,
                "department_id": line.department_id,
                "department_name": line.department_name,
                "status": line.status,
                "recommended": money_text(line.recommended),
                "final": money_text(line.final),
                "difference": money_text(line.difference),
                "adjusted": line.adjusted,
                "reason": line.reason,
                "adjusted_by": line.adjusted_by,
                "adjusted_at": when(line.adjusted_at),
                "policies": list(line.policies),
            }
            for line in d.lines
        ]
    return data
