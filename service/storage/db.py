"""The database engine, one transaction helper, and migrations applied with Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str) -> Engine:
    """An engine; on SQLite every transaction starts with BEGIN IMMEDIATE so writers queue, never interleave."""
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=60000")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """The composition root's handle on storage: one engine, transactions opened in one place."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = is_sqlite(url)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together or not at all."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_folder()))
    return config


def migrations_folder() -> Path:
    """The Alembic scripts: beside policies/ in the source tree, or under $BUDGET_RULES_HOME (Docker)."""
    from service.policyfiles import default_root

    return default_root() / "migrations"


def upgrade_database(url: str, revision: str = "head") -> None:
    """Apply the Alembic migrations (also ``budget-rules db upgrade``)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
    finally:
        engine.dispose()


def utc_now() -> datetime:
    """Now, timezone-aware UTC (stored as UTC by both SQLite and PostgreSQL)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A query bound as aware UTC (a naive value is taken to be UTC already)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
