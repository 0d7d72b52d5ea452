from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from service.storage.models import DatasetRow


def add(session: Session, row: DatasetRow) -> None:
    session.add(row)
    session.flush()


def get(session: Session, dataset_id: str) -> DatasetRow | None:
    return session.get(DatasetRow, dataset_id)


def page(session: Session, limit: int, offset: int) -> tuple[list[DatasetRow], int]:
    total = session.exec(select(func.count()).select_from(DatasetRow)).one()
    statement = select(DatasetRow).order_by(col(DatasetRow.created_at).desc(), col(DatasetRow.id))
    return list(session.exec(statement.limit(limit).offset(offset)).all()), int(total)
