"""Settings refuse the placeholder secret outside development; migrations apply twice harmlessly."""

from __future__ import annotations

import logging
import secrets

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect

from service.settings import PLACEHOLDER_SECRET, Settings
from service.storage.db import make_engine, upgrade_database

STRONG = "Zt0q7w9C3vX1bN8mK2pL5rH6yJ4dF0gS7aQ9eW3uI1oP"  # 44 characters of token_urlsafe's alphabet


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
    monkeypatch.setenv("BUDGET_RULES_AUDIT_SECRET", STRONG)
    monkeypatch.setenv("BUDGET_RULES_ENVIRONMENT", "production")
    monkeypatch.setenv("BUDGET_RULES_WORKERS", "4")
    settings = Settings()
    assert (settings.database_url, settings.audit_secret, settings.workers) == (
        "postgresql+psycopg://u@h/db",
        STRONG,
        4,
    )


def test_placeholder_secret_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUDGET_RULES_AUDIT_SECRET", raising=False)
    monkeypatch.setenv("BUDGET_RULES_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="placeholder"):
        Settings()


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("x", "1 bytes"),
        ("s3cret-s3cret-s3cret", "20 bytes"),
        ("a" * 64, "repeats a 1-character pattern"),
        ("0123456789abcdef" * 4, "repeats a 16-character pattern"),
        ("ab" * 10 + "ba" * 10 + "aabb" * 5, "distinct characters"),
    ],
)
def test_production_refuses_a_weak_secret(monkeypatch: pytest.MonkeyPatch, secret: str, why: str) -> None:
    monkeypatch.setenv("BUDGET_RULES_ENVIRONMENT", "production")
    monkeypatch.setenv("BUDGET_RULES_AUDIT_SECRET", secret)
    with pytest.raises(ValidationError, match=why) as caught:
        Settings()
    assert "secrets.token_urlsafe(48)" in str(caught.value)  # says how to make a good one


@pytest.mark.parametrize("secret", [secrets.token_urlsafe(48), secrets.token_hex(32), secrets.token_urlsafe(32)])
def test_production_accepts_32_random_bytes(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("BUDGET_RULES_ENVIRONMENT", "production")
    monkeypatch.setenv("BUDGET_RULES_AUDIT_SECRET", secret)
    assert Settings().audit_secret == secret


def test_development_with_the_placeholder_warns_loudly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("AUDIT_SECRET", "ENVIRONMENT"):
        monkeypatch.delenv(f"BUDGET_RULES_{name}", raising=False)
    with caplog.at_level(logging.WARNING, logger="budget_rules"):
        Settings()
    assert "PUBLIC placeholder audit secret" in capsys.readouterr().err
    assert any("placeholder" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_a_real_secret_does_not_warn(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("BUDGET_RULES_ENVIRONMENT", raising=False)
    monkeypatch.setenv("BUDGET_RULES_AUDIT_SECRET", STRONG)
    Settings()
    assert "placeholder" not in capsys.readouterr().err


def test_migrations_are_idempotent(database_url: str) -> None:
    upgrade_database(database_url)
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"datasets", "decisions", "audit_records", "audit_head", "tokens", "alembic_version"} <= tables
