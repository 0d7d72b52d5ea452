"""Every query on ruleset revisions and the activation counter."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from service.storage.models import RulesetActivationRow, RulesetRevisionRow

COUNTER_ID = 1
ACTIVE = "active"


def add(session: Session, row: RulesetRevisionRow) -> None:
    session.add(row)
    session.flush()


def get(session: Session, ruleset_id: str, revision: str) -> RulesetRevisionRow | None:
    return session.get(RulesetRevisionRow, (ruleset_id, revision))


def revisions(session: Session, ruleset_id: str | None = None) -> list[RulesetRevisionRow]:
    statement = select(RulesetRevisionRow)
    if ruleset_id is not None:
        statement = statement.where(RulesetRevisionRow.ruleset_id == ruleset_id)
    statement = statement.order_by(col(RulesetRevisionRow.ruleset_id), col(RulesetRevisionRow.created_at))
    return list(session.exec(statement).all())


def has_revisions(session: Session, ruleset_id: str) -> bool:
    statement = select(RulesetRevisionRow.revision).where(RulesetRevisionRow.ruleset_id == ruleset_id)
    return session.exec(statement.limit(1)).first() is not None


def active(session: Session, ruleset_id: str | None = None) -> list[RulesetRevisionRow]:
    statement = select(RulesetRevisionRow).where(RulesetRevisionRow.state == ACTIVE)
    if ruleset_id is not None:
        statement = statement.where(RulesetRevisionRow.ruleset_id == ruleset_id)
    return list(session.exec(statement.order_by(col(RulesetRevisionRow.active_from_year))).all())


def lock_lifecycle(session: Session) -> RulesetActivationRow:
    """Lock the counter row: life-cycle changes (and first-start installs) happen one at a time."""
    statement = select(RulesetActivationRow).where(RulesetActivationRow.id == COUNTER_ID).with_for_update()
    return session.exec(statement).one()


def bump_activation(session: Session) -> int:
    counter = lock_lifecycle(session)
    counter.seq += 1
    session.add(counter)
    session.flush()
    return counter.seq


_ACTIVATION_SEQ_QMARK = "SELECT seq FROM ruleset_activation WHERE id = ?"
_ACTIVATION_SEQ_FORMAT = "SELECT seq FROM ruleset_activation WHERE id = %s"


def activation_seq(engine: Engine) -> int:
    """The counter, read without opening a write transaction (SQLite) — the per-request hot-swap check."""
    qmark = engine.dialect.paramstyle == "qmark"  # sqlite3 takes ?, psycopg %s: bound either way
    statement = _ACTIVATION_SEQ_QMARK if qmark else _ACTIVATION_SEQ_FORMAT
    driver_error = engine.dialect.loaded_dbapi.Error
    try:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(statement, (COUNTER_ID,))
            row = cursor.fetchone()
            cursor.close()
            raw.rollback()
        finally:
            raw.close()
    except driver_error as error:  # the raw driver's error, wrapped as every other path's is (then 503)
        raise DBAPIError.instance(statement, (COUNTER_ID,), error, driver_error) from error
    return int(row[0]) if row else 0


def activation_seq_in(session: Session) -> int:
    counter = session.get(RulesetActivationRow, COUNTER_ID)
    return counter.seq if counter else 0
