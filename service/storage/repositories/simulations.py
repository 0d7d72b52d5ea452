"""Simulation job rows. State changes are conditional updates (``WHERE state IN …``): exactly one of a
finishing worker and a liveness check wins, and the loser changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, update
from sqlmodel import Session, col, select

from service.storage.models import SimulationJobRow

ACTIVE = ("queued", "running")
STATES = ("queued", "running", "succeeded", "failed")


def add(session: Session, row: SimulationJobRow) -> None:
    session.add(row)
    session.flush()


def get(session: Session, job_id: str) -> SimulationJobRow | None:
    return session.get(SimulationJobRow, job_id)


def active_ids(session: Session) -> list[str]:
    statement = select(SimulationJobRow.id).where(col(SimulationJobRow.state).in_(ACTIVE))
    return list(session.exec(statement).all())


def page(session: Session, state: str | None, limit: int, offset: int) -> tuple[list[SimulationJobRow], int]:
    counted = select(func.count()).select_from(SimulationJobRow)
    listed = select(SimulationJobRow)
    if state is not None:
        counted = counted.where(SimulationJobRow.state == state)
        listed = listed.where(SimulationJobRow.state == state)
    total = session.exec(counted).one()
    listed = listed.order_by(col(SimulationJobRow.created_at).desc(), col(SimulationJobRow.id))
    return list(session.exec(listed.limit(limit).offset(offset)).all()), int(total)


def transition(session: Session, job_id: str, from_states: Sequence[str], **values: Any) -> bool:
    """Set ``values`` on the job if its state is one of ``from_states``; True when it was."""
    statement = (
        update(SimulationJobRow)
        .where(col(SimulationJobRow.id) == job_id, col(SimulationJobRow.state).in_(tuple(from_states)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount == 1


def set_pid(session: Session, job_id: str, pid: int, host: str) -> None:
    """Record the spawned process, unless the worker already did (it writes the same pid)."""
    statement = (
        update(SimulationJobRow)
        .where(col(SimulationJobRow.id) == job_id, col(SimulationJobRow.pid).is_(None))
        .values(pid=pid, host=host)
        .execution_options(synchronize_session=False)
    )
    session.execute(statement)


def touch(session: Session, job_id: str, now: datetime, **values: Any) -> bool:
    """A running job's heartbeat (and progress, if given)."""
    return transition(session, job_id, ("running",), heartbeat_at=now, **values)
