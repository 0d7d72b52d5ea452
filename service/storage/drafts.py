"""Budget drafts (编制方案): the tables and every query on them.

A draft is made from one recorded recommendation (a decision); it holds at most one adjustment
(人工调整) per line, the latest, with its reason, who and when; every change also lands in the audit
chain, which keeps the history. Money is stored as two-decimal text, never a float. Events record
the draft's transitions (create, submit, return, approve) with their comments, for the pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, func, select

from service.storage.models import AuditRecordRow, DecisionRow


class DraftRow(SQLModel, table=True):
    """One budget draft (编制方案) and where it stands: editing, submitted, returned or final (定稿)."""

    __tablename__ = "budget_drafts"
    __table_args__ = (UniqueConstraint("decision_id", "version", name="uq_draft_decision_version"),)

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    decision_id: str = Field(max_length=36, index=True)
    version: int
    previous_id: str | None = Field(default=None, max_length=36)  # the draft this version was made from
    state: str = Field(max_length=20, index=True)
    fiscal_year: int = Field(index=True)
    envelope: str | None = Field(default=None, max_length=40)
    created_at: datetime
    created_by: str = Field(max_length=200)
    created_by_person: str = Field(max_length=200)
    updated_at: datetime
    submitted_at: datetime | None = None
    submitted_by: str | None = Field(default=None, max_length=200)
    submitted_by_person: str | None = Field(default=None, max_length=200)
    approved_at: datetime | None = None
    approved_by: str | None = Field(default=None, max_length=200)
    approved_by_person: str | None = Field(default=None, max_length=200)
    comment: str | None = None  # the last return's or approval's comment
    final_total: str | None = Field(default=None, max_length=40)  # set when approved (定稿)
    audit_seq: int  # the audit record of the last change


class AdjustmentRow(SQLModel, table=True):
    """The compiler's adjustment (人工调整) of one line of a draft: the final amount and why."""

    __tablename__ = "budget_draft_adjustments"
    __table_args__ = (UniqueConstraint("draft_id", "project_id", name="uq_draft_adjustment_line"),)

    id: int | None = Field(default=None, primary_key=True)
    draft_id: str = Field(max_length=36, index=True, foreign_key="budget_drafts.id")
    project_id: str = Field(max_length=64)
    amount: str = Field(max_length=40)  # money text, two decimals
    reason: str
    adjusted_by: str = Field(max_length=200)
    adjusted_by_person: str = Field(max_length=200)
    adjusted_at: datetime
    audit_seq: int


class DraftEventRow(SQLModel, table=True):
    """A transition of a draft (created, adjusted, submitted, returned, approved), with its comment."""

    __tablename__ = "budget_draft_events"

    id: int | None = Field(default=None, primary_key=True)
    draft_id: str = Field(max_length=36, index=True, foreign_key="budget_drafts.id")
    action: str = Field(max_length=40)
    actor_name: str = Field(max_length=200)
    actor_role: str = Field(max_length=40)
    at: datetime
    comment: str | None = None
    audit_seq: int


def get(session: Session, draft_id: str, *, for_update: bool = False) -> DraftRow | None:
    statement = select(DraftRow).where(DraftRow.id == draft_id)
    if for_update:
        statement = statement.with_for_update()
    return session.exec(statement).first()


def add(session: Session, row: DraftRow) -> None:
    session.add(row)
    session.flush()


def page(session: Session, limit: int, offset: int, decision_id: str | None = None) -> tuple[list[DraftRow], int]:
    statement = select(DraftRow)
    counted = select(func.count()).select_from(DraftRow)
    if decision_id:
        statement = statement.where(DraftRow.decision_id == decision_id)
        counted = counted.where(DraftRow.decision_id == decision_id)
    rows = session.exec(statement.order_by(col(DraftRow.created_at).desc()).limit(limit).offset(offset)).all()
    return list(rows), int(session.exec(counted).one())


def all_ids(session: Session) -> list[str]:
    return list(session.exec(select(DraftRow.id).order_by(col(DraftRow.created_at))).all())


def next_version(session: Session, decision_id: str) -> int:
    highest = session.exec(select(func.max(DraftRow.version)).where(DraftRow.decision_id == decision_id)).one()
    return int(highest or 0) + 1


def adjustments(session: Session, draft_id: str) -> list[AdjustmentRow]:
    statement = select(AdjustmentRow).where(AdjustmentRow.draft_id == draft_id).order_by(col(AdjustmentRow.id))
    return list(session.exec(statement).all())


def adjustment(session: Session, draft_id: str, project_id: str) -> AdjustmentRow | None:
    statement = select(AdjustmentRow).where(AdjustmentRow.draft_id == draft_id, AdjustmentRow.project_id == project_id)
    return session.exec(statement).first()


def save_adjustment(session: Session, row: AdjustmentRow) -> None:
    session.add(row)
    session.flush()


def add_event(session: Session, row: DraftEventRow) -> None:
    session.add(row)
    session.flush()


def events(session: Session, draft_id: str) -> Sequence[DraftEventRow]:
    statement = select(DraftEventRow).where(DraftEventRow.draft_id == draft_id).order_by(col(DraftEventRow.id))
    return session.exec(statement).all()


def save(session: Session, row: DraftRow) -> None:
    session.add(row)
    session.flush()


def audit_trail(session: Session, draft_id: str) -> list[AuditRecordRow]:
    """The draft's audit records (its subject is the draft id), oldest first."""
    statement = select(AuditRecordRow).where(AuditRecordRow.subject == draft_id).order_by(col(AuditRecordRow.seq))
    return list(session.exec(statement).all())


def decision(session: Session, decision_id: str) -> DecisionRow | None:
    return session.get(DecisionRow, decision_id)
