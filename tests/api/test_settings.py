"""Settings refuse the placeholder secret outside development; migrations apply twice harmlessly."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect

from service.settings import PLACEHOLDER_SECRET, Settings
from service.storage.db import make_engine, upgrade_database


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "AUDIT_SECRET", "ENVIRONMENT", "MAX_BODY_BYTES", "WORKERS"):
        monkeypatch.delenv(f"BUDGET_RULES_{name}", raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite:///./budget-rules.sqlite3"
    assert settings.audit_secret == PLACEHOLDER_SECRET
    assert settings.environment == "development"
    assert settings.max_body_bytes == 20 * 1024 * 1024
    assert settings.workers == 1


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUDGET_RULES_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("BUDGET_RULES_AUDIT_SECRET", "s3cret")
    monkeypatch.setenv("BUDGET_RULES_ENVIRONMENT", "production")
    monkeypatch.setenv("BUDGET_RULES_WORKERS", "4")
    settings = Settings()
    assert (settings.database_url, settings.audit_secret, settings.workers) == (
        "postgresql+psycopg://u@h/db",
        "s3cret",
        4,
    )


def test_placeholder_secret_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUDGET_RULES_AUDIT_SECRET", raising=False)
    monkeypatch.setenv("BUDGET_RULES_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="placeholder"):
        Settings()


def test_migrations_are_idempotent(database_url: str) -> None:
    upgrade_database(database_url)
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"datasets", "decisions", "audit_records", "audit_head", "tokens", "alembic_version"} <= tables
