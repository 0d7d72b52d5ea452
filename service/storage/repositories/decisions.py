from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from service.storage.models import DecisionRow


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
