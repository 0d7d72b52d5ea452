from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, literal
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from service.storage.models import AuditRecordRow, DecisionRow


@dataclass(frozen=True)
class DecisionFilter:
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    ruleset: str | None = None
    fiscal_year: int | None = None
    department: str | None = None


def add(session: Session, row: DecisionRow) -> None:
    session.add(row)
    session.flush()


def add_with_record_texts(session: Session, row: DecisionRow, *, input_too: bool) -> None:
    """Insert ``row``, its result text (and its input text when ``input_too``) copied in the database from its
    audit record ``row.audit_seq`` (already flushed in this transaction) instead of sent a second time.

    The texts are the same characters either way (the row's own are what the record holds); a 1,000-line
    decision's result is a megabyte, and PostgreSQL copies its stored (compressed) form without receiving,
    checking and compressing it again.
    """
    copied = ["result_json", *(["input_json"] if input_too else [])]
    table = DecisionRow.__table__  # type: ignore[attr-defined]
    names = [c.name for c in table.columns if c.name not in copied]
    values = [literal(getattr(row, name), type_=table.c[name].type) for name in names]
    sources = [getattr(AuditRecordRow, name) for name in copied]
    source = select(*values, *sources).where(AuditRecordRow.seq == row.audit_seq)
    statement = insert(table).from_select([*names, *copied], source).returning(table.c.id)
    if session.execute(statement).scalar_one_or_none() != row.id:
        raise LookupError(f"audit record {row.audit_seq} is not in this transaction: decision {row.id} not written")


def get(session: Session, decision_id: str) -> DecisionRow | None:
    return session.get(DecisionRow, decision_id)


def _filtered(statement: SelectOfScalar, f: DecisionFilter) -> SelectOfScalar:  # type: ignore[type-arg]
    if f.since is not None:
        statement = statement.where(col(DecisionRow.created_at) >= f.since)
    if f.until is not None:
        statement = statement.where(col(DecisionRow.created_at) < f.until)
    if f.actor is not None:
        statement = statement.where(DecisionRow.actor_name == f.actor)
    if f.ruleset is not None:
        statement = statement.where(DecisionRow.ruleset_id == f.ruleset)
    if f.fiscal_year is not None:
        statement = statement.where(DecisionRow.fiscal_year == f.fiscal_year)
    if f.department is not None:
        statement = statement.where(col(DecisionRow.department_ids).contains(f",{f.department},", autoescape=True))
    return statement


def page(session: Session, f: DecisionFilter, limit: int, offset: int) -> tuple[list[DecisionRow], int]:
    total = session.exec(_filtered(select(func.count()).select_from(DecisionRow), f)).one()
    statement = _filtered(select(DecisionRow), f).order_by(col(DecisionRow.audit_seq).desc())
    return list(session.exec(statement.limit(limit).offset(offset)).all()), int(total)
