"""Tables of the maintainer's and the analyst's pages (issue 15): notes on ruleset revisions, saved what-ifs.

``ruleset_revision_notes`` adds to a revision (``ruleset_revisions``, whose content never changes) what the
review needs: the revision it was built on, why it was made, the persons who made and proposed it
(separation of duties compares persons, ``service.audit.Actor.person``) and a return (退回) with its
comment. ``saved_scenarios`` holds the what-if scenarios analysts save from the page (a scenario file's
content, as canonical JSON).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, Session, SQLModel, col, select

from service.storage.models import AuditRecordRow


class RevisionNoteRow(SQLModel, table=True):
    """What the review of one ruleset revision needs beyond its content."""

    __tablename__ = "ruleset_revision_notes"

    ruleset_id: str = Field(primary_key=True, max_length=64)
    revision: str = Field(primary_key=True, max_length=12)
    base_revision: str | None = Field(default=None, max_length=12)  # the revision it was built on (replaces)
    reason: str | None = None  # why it was made
    created_person: str | None = Field(default=None, max_length=200)
    proposed_person: str | None = Field(default=None, max_length=200)
    returned_by: str | None = Field(default=None, max_length=200)
    returned_person: str | None = Field(default=None, max_length=200)
    returned_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    return_comment: str | None = None


class SavedScenarioRow(SQLModel, table=True):
    """A what-if scenario saved from the analyst's page (``name`` is the scenario id, a slug)."""

    __tablename__ = "saved_scenarios"

    name: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=200)
    document_json: str
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_by: str = Field(max_length=200)
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


# ------------------------------------------------------------------ queries


def note(session: Session, ruleset_id: str, revision: str) -> RevisionNoteRow | None:
    return session.get(RevisionNoteRow, (ruleset_id, revision))


def note_or_new(session: Session, ruleset_id: str, revision: str) -> RevisionNoteRow:
    return note(session, ruleset_id, revision) or RevisionNoteRow(ruleset_id=ruleset_id, revision=revision)


def notes(session: Session, ruleset_id: str) -> dict[str, RevisionNoteRow]:
    rows = session.exec(select(RevisionNoteRow).where(RevisionNoteRow.ruleset_id == ruleset_id)).all()
    return {r.revision: r for r in rows}


def ruleset_records(session: Session, ruleset_id: str, limit: int = 2000) -> list[AuditRecordRow]:
    """The life-cycle records of one ruleset (``ruleset.*``), oldest first."""
    statement = (
        select(AuditRecordRow)
        .where(AuditRecordRow.ruleset_id == ruleset_id)
        .where(col(AuditRecordRow.action).startswith("ruleset."))
        .order_by(col(AuditRecordRow.seq))
        .limit(limit)
    )
    return list(session.exec(statement).all())


def saved_scenario(session: Session, name: str) -> SavedScenarioRow | None:
    return session.get(SavedScenarioRow, name)


def saved_scenarios(session: Session, limit: int = 500) -> list[SavedScenarioRow]:
    statement = select(SavedScenarioRow).order_by(col(SavedScenarioRow.updated_at).desc()).limit(limit)
    return list(session.exec(statement).all())
