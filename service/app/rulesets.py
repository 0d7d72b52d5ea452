"""The life cycle of ruleset revisions (规则集版本管理): upload, approve (maker-checker), activate, retire.

    draft ──propose──▶ proposed ──approve──▶ approved ──activate──▶ active ──retire──▶ retired
      ▲ upload           ▲ upload                                                       │
                         └──────────────── propose (rollback: the same path again) ◀────┘

Every transition needs a ``reason`` and appends one audit record (who, when, why) in the same
transaction as the change. Transitions are serialized by locking the ``ruleset_activation`` row;
activating or retiring an active revision bumps its counter, which every worker watches (hot swap).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from service import audit
from service.app.engines import ActiveRevision, Engines
from service.app.errors import Conflict, NotFound, Unprocessable, problem_detail
from service.app.state import AppState
from service.domain.diff import diff_rulesets, impact
from service.domain.errors import InvalidInput, InvalidPolicy, Problem
from service.domain.ruleset import CompiledRuleset
from service.lifecycle.revisions import CheckedRevision, check_catalog, check_files
from service.lifecycle.years import YearRange
from service.policyfiles import Catalog
from service.storage import pages
from service.storage.db import Database, utc_now
from service.storage.models import RulesetRevisionRow
from service.storage.repositories import rulesets as repository

SYSTEM = audit.Actor(name="system", role="admin")
# The first-start install is visible in ruleset_revisions (created/approved/activated by "system").
# It is not yet an audit record because tests/api/test_audit.py counts the records of a fresh database.
STATES = ("draft", "proposed", "returned", "approved", "active", "retired")  # returned: issue 15, ruleset_forms


class InvalidRevision(Unprocessable):
    """The uploaded files have errors: every problem, each naming the file and the path inside it."""

    code = "invalid_ruleset"


def _ref(row: RulesetRevisionRow) -> dict[str, str]:
    return {"id": row.ruleset_id, "revision": row.revision, "digest": row.digest}


def record_transition(
    session: Session,
    secret: str,
    actor: audit.Actor,
    action: str,
    row: RulesetRevisionRow,
    reason: str,
    **extra: Any,
) -> None:
    audit.append(
        session,
        secret,
        actor=actor,
        action=action,
        subject=f"{row.ruleset_id}@{row.revision}",
        input_doc={"ruleset_id": row.ruleset_id, "revision": row.revision, "reason": reason, **extra},
        result_doc={"state": row.state},
        ruleset=_ref(row),
    )


def _require_reason(reason: Any) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput([Problem(("reason",), "is required: say why (it goes into the audit record)")])
    if len(reason) > 2000:
        raise InvalidInput([Problem(("reason",), "at most 2000 characters")])
    return reason.strip()


# ---------------------------------------------------------------------------------------- upload


def _new_row(checked: CheckedRevision, actor: audit.Actor, state: str) -> RulesetRevisionRow:
    content, now = checked.content, utc_now()
    return RulesetRevisionRow(
        ruleset_id=content.ruleset.id,
        revision=content.revision,
        digest=content.digest,
        subject=content.ruleset.subject,
        state=state,
        ruleset_json=content.ruleset_json(),
        policies_json=content.policies_json(),
        warnings_json=json.dumps([problem_detail(p) for p in checked.warnings], ensure_ascii=False),
        file_from_year=content.ruleset.effective.from_year,
        file_to_year=content.ruleset.effective.to_year,
        created_at=now,
        created_by=actor.person,
        proposed_by=actor.person if state != "draft" else None,
        proposed_at=now if state != "draft" else None,
    )


def upload(
    db: Database,
    secret: str,
    actor: audit.Actor,
    ruleset_id: str,
    files: Mapping[str, Any],
    reason: Any,
    *,
    draft: bool = False,
) -> RulesetRevisionRow:
    """Check the files as ``budget-rules validate`` does and store the revision (draft, or proposed)."""
    why = _require_reason(reason)
    try:
        checked = check_files(files, ruleset_id)
    except InvalidPolicy as error:
        details = [{**problem_detail(p), "severity": "error"} for p in error.problems]
        raise InvalidRevision(f"the ruleset has {len(details)} error(s)", details=details) from None
    state = "draft" if draft else "proposed"
    row = _new_row(checked, actor, state)
    with db.transaction() as session:
        repository.lock_lifecycle(session)
        existing = repository.get(session, row.ruleset_id, row.revision)
        if existing is not None:
            raise Conflict(
                f"revision {row.ruleset_id}@{row.revision} exists already (state {existing.state}); "
                "identical content is the same revision",
                code="revision_exists",
            )
        repository.add(session, row)
        record_transition(session, secret, actor, f"ruleset.{state}", row, why, warnings=len(checked.warnings))
    return row


def install_shipped(db: Database, secret: str, root: Path | None = None) -> list[RulesetRevisionRow]:
    """First start: every shipped ruleset with no revision in the database is installed and active.

    Once installed, the files are not read again for that ruleset (they may be mid-edit: changes go
    through ``propose``); a ruleset still to install must come with valid files.
    """
    catalog, problems = Catalog.load_all(root)
    installed = []
    for ruleset_id in sorted(catalog.rulesets):
        with db.transaction() as session:
            repository.lock_lifecycle(session)
            if repository.has_revisions(session, ruleset_id):
                continue
        checked = check_catalog(catalog, problems, ruleset_id)
        row = _new_row(checked, SYSTEM, "active")
        row.approved_by = row.activated_by = SYSTEM.name
        row.approved_at = row.activated_at = row.created_at
        row.active_from_year, row.active_to_year = row.file_from_year, row.file_to_year
        with db.transaction() as session:
            repository.lock_lifecycle(session)
            if repository.has_revisions(session, ruleset_id):  # another worker was first
                continue
            repository.add(session, row)
            repository.bump_activation(session)
            record_transition(
                session, secret, SYSTEM, "ruleset.install", row, "shipped revision installed on first start"
            )
        installed.append(row)
    return installed


# ---------------------------------------------------------------------------------------- transitions


def locked_row(session: Session, ruleset_id: str, revision: str) -> RulesetRevisionRow:
    repository.lock_lifecycle(session)
    row = repository.get(session, ruleset_id, revision)
    if row is None:
        raise NotFound(f"no revision {revision!r} of ruleset {ruleset_id!r}")
    return row


def expect_state(row: RulesetRevisionRow, action: str, allowed: Sequence[str]) -> None:
    if row.state not in allowed:
        raise Conflict(
            f"revision {row.ruleset_id}@{row.revision} is {row.state}; {action} needs it to be {' or '.join(allowed)}",
            code="invalid_transition",
        )


def propose(
    db: Database, secret: str, actor: audit.Actor, ruleset_id: str, revision: str, reason: Any
) -> RulesetRevisionRow:
    """draft → proposed, or retired → proposed (the first step of a rollback)."""
    why = _require_reason(reason)
    with db.transaction() as session:
        row = locked_row(session, ruleset_id, revision)
        expect_state(row, "propose", ("draft", "retired"))
        row.state, row.proposed_by, row.proposed_at = "proposed", actor.person, utc_now()
        row.approved_by = row.approved_at = None
        session.add(row)
        note = pages.note_or_new(session, ruleset_id, revision)  # the proposing person, for maker-checker
        note.proposed_person = actor.person
        session.add(note)
        record_transition(session, secret, actor, "ruleset.propose", row, why)
    return row


def makers(row: RulesetRevisionRow, note: pages.RevisionNoteRow | None) -> set[str]:
    """The persons who made or proposed a revision (for uploads without a note: the persons of their tokens)."""
    persons = set()
    if note is not None and note.created_person:
        persons.add(note.created_person)
    else:
        persons.add(audit.Actor(name=row.created_by, role="").person)
    if note is not None and note.proposed_person:
        persons.add(note.proposed_person)
    elif row.proposed_by:
        persons.add(audit.Actor(name=row.proposed_by, role="").person)
    return persons


def approve(
    db: Database, secret: str, actor: audit.Actor, ruleset_id: str, revision: str, reason: Any
) -> RulesetRevisionRow:
    """proposed → approved, by someone other than whoever uploaded or proposed it (maker-checker)."""
    why = _require_reason(reason)
    with db.transaction() as session:
        row = locked_row(session, ruleset_id, revision)
        expect_state(row, "approve", ("proposed",))
        # Persons, not token names: "MC-BOB" is mc-bob, and a user's tokens and sessions are that user.
        if actor.person in makers(row, pages.note(session, ruleset_id, revision)):
            raise Conflict(
                f"{actor.name} made or proposed revision {ruleset_id}@{revision}; "
                "another token holder (another person) must approve it",
                code="same_person",
            )
        row.state, row.approved_by, row.approved_at = "approved", actor.name, utc_now()
        session.add(row)
        record_transition(session, secret, actor, "ruleset.approve", row, why, proposed_by=row.proposed_by)
    return row


def _active_years(row: RulesetRevisionRow) -> YearRange:
    return YearRange(row.active_from_year or row.file_from_year, row.active_to_year)


def activate(
    db: Database,
    secret: str,
    actor: audit.Actor,
    ruleset_id: str,
    revision: str,
    reason: Any,
    *,
    years: Mapping[str, Any] | None = None,
    replaces: Sequence[str] = (),
) -> RulesetRevisionRow:
    """approved → active for a range of fiscal years (the file's, or ``from_year``/``to_year``).

    No two active revisions of one ruleset cover the same year: ``replaces`` names active revisions
    retired in the same transaction (a swap with no gap); any other overlap is a 409.
    """
    why = _require_reason(reason)
    with db.transaction() as session:
        row = locked_row(session, ruleset_id, revision)
        expect_state(row, "activate", ("approved",))
        wanted = _year_range(row, years or {})
        others = [o for o in repository.active(session, ruleset_id) if o.revision != revision]
        unknown = sorted(set(replaces) - {o.revision for o in others})
        if unknown:
            raise Conflict(
                f"replaces names {', '.join(unknown)}, not an active revision of {ruleset_id}",
                code="invalid_transition",
            )
        for other in others:
            if other.revision in replaces:
                continue
            overlap = wanted.overlap(_active_years(other))
            if overlap is not None:
                raise Conflict(
                    f"revision {other.revision} of {ruleset_id} is active for {_active_years(other).words()}; "
                    f"{revision} would also cover {overlap.words()}: retire {other.revision}, narrow the years, "
                    f"or name it in replaces",
                    code="effective_years_overlap",
                    details=[{"loc": ["from_year"], "message": f"overlaps {other.revision} in {overlap.words()}"}],
                )
        for other in others:
            if other.revision in replaces:
                _retire_row(session, secret, actor, other, f"replaced by {revision}: {why}")
        row.state, row.activated_by, row.activated_at = "active", actor.name, utc_now()
        row.active_from_year, row.active_to_year = wanted.from_year, wanted.to_year
        session.add(row)
        seq = repository.bump_activation(session)
        record_transition(
            session,
            secret,
            actor,
            "ruleset.activate",
            row,
            why,
            from_year=wanted.from_year,
            to_year=wanted.to_year,
            replaces=list(replaces),
            activation_seq=seq,
        )
    return row


def _year_range(row: RulesetRevisionRow, years: Mapping[str, Any]) -> YearRange:
    from_year = years.get("from_year", row.file_from_year)
    to_year = years.get("to_year", row.file_to_year) if "to_year" in years else row.file_to_year
    problems = []
    for name, value in (("from_year", from_year), ("to_year", to_year)):
        if value is None and name == "to_year":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 2000 <= value <= 2100:
            problems.append(Problem((name,), "must be a year from 2000 to 2100"))
    if not problems and to_year is not None and to_year < from_year:
        problems.append(Problem(("to_year",), "is before from_year"))
    if problems:
        raise InvalidInput(problems)
    return YearRange(from_year, to_year)


def _retire_row(session: Session, secret: str, actor: audit.Actor, row: RulesetRevisionRow, why: str) -> None:
    was_active = row.state == "active"
    row.state, row.retired_by, row.retired_at = "retired", actor.name, utc_now()
    session.add(row)
    seq = repository.bump_activation(session) if was_active else None
    record_transition(session, secret, actor, "ruleset.retire", row, why, activation_seq=seq)


def retire(
    db: Database, secret: str, actor: audit.Actor, ruleset_id: str, revision: str, reason: Any
) -> RulesetRevisionRow:
    """Any state but retired → retired (an active revision stops deciding at once, in every worker)."""
    why = _require_reason(reason)
    with db.transaction() as session:
        row = locked_row(session, ruleset_id, revision)
        expect_state(row, "retire", ("draft", "proposed", "approved", "active"))
        _retire_row(session, secret, actor, row, why)
    return row


# ---------------------------------------------------------------------------------------- reading


def get_revision(db: Database, ruleset_id: str, revision: str) -> RulesetRevisionRow:
    with db.transaction() as session:
        row = repository.get(session, ruleset_id, revision)
    if row is None:
        raise NotFound(f"no revision {revision!r} of ruleset {ruleset_id!r}")
    return row


def list_revisions(db: Database, ruleset_id: str | None = None) -> list[RulesetRevisionRow]:
    with db.transaction() as session:
        return repository.revisions(session, ruleset_id)


@dataclass(frozen=True)
class RulesetOverview:
    """One ruleset at a glance: how many revisions, which are active for which years, how many await a step."""

    id: str
    subject: str
    revisions: int
    active: list[ActiveRevision]
    pending: int  # proposed or approved


def overview(state: AppState) -> list[RulesetOverview]:
    """Every stored ruleset (the API's ``GET /v1/rulesets`` and the rulesets page)."""
    rows = list_revisions(state.db)
    active = state.engines.active_revisions()
    out = []
    for ruleset_id in sorted({r.ruleset_id for r in rows}):
        mine = [r for r in rows if r.ruleset_id == ruleset_id]
        out.append(
            RulesetOverview(
                id=ruleset_id,
                subject=mine[0].subject,
                revisions=len(mine),
                active=[a for a in active if a.ruleset_id == ruleset_id],
                pending=sum(1 for r in mine if r.state in ("proposed", "approved")),
            )
        )
    return out


def content_of(row: RulesetRevisionRow) -> dict[str, Any]:
    return {"ruleset": json.loads(row.ruleset_json), "policies": json.loads(row.policies_json)}


def _compiled(engines: Engines, db: Database, ruleset_id: str, revision: str) -> CompiledRuleset:
    get_revision(db, ruleset_id, revision)  # 404 for an unknown revision
    return engines.revision(ruleset_id, revision)


def _active_for_year(engines: Engines, ruleset_id: str, year: int) -> str:
    for active in engines.active_revisions(ruleset_id):
        if active.years.covers(year):
            return active.revision
    raise NotFound(f"ruleset {ruleset_id} has no revision active for fiscal year {year}: name one with ?against=")


def diff(engines: Engines, db: Database, ruleset_id: str, revision: str, against: str | None) -> dict[str, Any]:
    """What ``revision`` changes relative to ``against`` (default: the revision active for its first year)."""
    row = get_revision(db, ruleset_id, revision)
    against = against or _active_for_year(engines, ruleset_id, row.file_from_year)
    old = _compiled(engines, db, ruleset_id, against)
    new = engines.revision(ruleset_id, revision)
    return diff_rulesets(old, new)


def impact_preview(
    state: AppState, ruleset_id: str, revision: str, raw: dict[str, Any], against: str | None
) -> dict[str, Any]:
    """Run the active (or ``against``) revision and the proposed one on a dataset or an inline request.

    The body is what ``POST /v1/recommendations`` takes: a request, or ``{dataset_id, fiscal_year?, envelope?}``.
    """
    from service.app.decisions import resolve_input
    from service.app.requests import parse_budget_request

    engines, db = state.engines, state.db
    row = get_revision(db, ruleset_id, revision)
    if row.subject != "project_lines":
        raise InvalidInput(
            [Problem((), f"impact previews are for project_lines rulesets; {ruleset_id} is {row.subject}")]
        )
    request_doc, _, _ = resolve_input(state, raw)
    request = parse_budget_request(request_doc)
    against = against or _active_for_year(engines, ruleset_id, request.fiscal_year)
    current = _compiled(engines, db, ruleset_id, against)
    proposed = engines.revision(ruleset_id, revision)
    with ExitStack() as stack:
        return impact(request, current, proposed, lambda c: stack.enter_context(engines.lease(c)))


# ---------------------------------------------------------------------------------------- disclosure reviews

DISCLOSURE_RULESET = "disclosure-compliance"


def review_and_record(state: AppState, actor: audit.Actor, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Review department disclosures with the revision active for the fiscal year; record it in the audit chain."""
    import uuid

    from service.app.decisions import record_decision
    from service.domain.disclosure import parse_disclosure_request, review_disclosure
    from service.domain.errors import UnknownRuleset
    from service.domain.ruleset import canonical_json

    request = parse_disclosure_request(body)
    compiled = state.engines.resolve(request.ruleset or DISCLOSURE_RULESET, request.fiscal_year)
    if compiled.subject != "department_disclosure":
        raise UnknownRuleset(f"ruleset {compiled.id} judges {compiled.subject}, not department disclosures")
    decision_id = str(uuid.uuid4())
    with state.engines.lease(compiled) as matcher:
        result_json = canonical_json(review_disclosure(request, compiled, matcher, decision_id=decision_id))
    record = record_decision(state, actor, "disclosure_review", decision_id, body, result_json, compiled)
    return json.loads(result_json), record.seq
