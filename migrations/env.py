"""Alembic environment: runs on the connection handed over by upgrade_database, or opens one itself."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

from service.storage import accounts, models  # noqa: F401  (registers the tables)
from service.storage.db import make_engine

config = context.config
target_metadata = SQLModel.metadata
MIGRATION_LOCK = 7_424_201  # PostgreSQL advisory lock: two workers starting together migrate once


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    from service.settings import Settings

    engine = make_engine(Settings().database_url)
    with engine.connect() as new_connection:
        _run(new_connection)
        new_connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
