"""Service settings (配置), read from the environment with the prefix ``BUDGET_RULES_``.

Outside development the service refuses to start with the placeholder audit secret: the audit chain
is only as trustworthy as the secret behind its HMAC. In production (every environment but
``development`` and the test suite's) the secret must be at least 32 random bytes — long enough, not a
repeated pattern, not a handful of distinct characters. In development with the placeholder, every
start warns on stderr and in the log.
"""

from __future__ import annotations

import logging
import math
import sys
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me-dev-only"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BUDGET_RULES_", extra="ignore")

    database_url: str = "sqlite:///./budget-rules.sqlite3"
    audit_secret: str = PLACEHOLDER_SECRET
    environment: str = "development"
    max_body_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    workers: int = Field(default=1, ge=1)
    rate_limit_per_minute: int = Field(default=6000, ge=0)  # per caller (token, else address) and worker; 0 = off
    rate_limit_burst: int = Field(default=6000, ge=1)  # requests a caller may send at once
    # Accounts and the pages (docs/accounts.md). Forwarded headers (X-Forwarded-For/-Proto) are believed
    # only from these proxy addresses (comma-separated IPs or networks; "*" trusts every peer), so the
    # session cookie gets ``Secure`` behind a TLS proxy and nobody else can claim to be one.
    trusted_proxies: str = ""
    login_max_failures: int = Field(default=10, ge=1, le=10)  # sign-in failures in a row that lock an account
    login_lock_minutes: int = Field(default=15, ge=1, le=24 * 60)
    session_hours: int = Field(default=12, ge=1, le=24 * 30)  # a browser session ends this long after sign-in
    timezone: str = "Asia/Shanghai"  # the times people read on the pages (Beijing time)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"BUDGET_RULES_TIMEZONE {value!r} is not a known time zone (e.g. Asia/Shanghai)") from None
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Self:
        if self.environment != "development" and self.audit_secret == PLACEHOLDER_SECRET:
            raise ValueError(
                "BUDGET_RULES_AUDIT_SECRET is the development placeholder; "
                f"set a real secret for environment {self.environment!r}"
            )
        if not self.audit_secret:
            raise ValueError("BUDGET_RULES_AUDIT_SECRET must not be empty")
        if requires_strong_secret(self.environment):
            weakness = secret_weakness(self.audit_secret)
            if weakness:
                raise ValueError(
                    f"BUDGET_RULES_AUDIT_SECRET is too weak for {self.environment!r}: {weakness}. {HOW_TO}"
                )
        elif self.environment == "development" and self.audit_secret == PLACEHOLDER_SECRET:
            warn_placeholder()
        return self


HOW_TO = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
MIN_SECRET_BYTES = 32
MIN_SECRET_BITS = 160  # estimated: length × log2(distinct characters)
PLACEHOLDER_WARNING = (
    "WARNING: development mode with the PUBLIC placeholder audit secret: anyone can forge the audit "
    "chain. Never use this for real data; set BUDGET_RULES_ENVIRONMENT=production and "
    f"BUDGET_RULES_AUDIT_SECRET ({HOW_TO})."
)


def requires_strong_secret(environment: str) -> bool:
    """Every environment but development and the test suite's (``test``, ``*-test``) needs a strong secret."""
    return environment not in ("development", "test") and not environment.endswith("-test")


def secret_weakness(secret: str) -> str | None:
    """Why a secret is not "at least 32 random bytes" (None: it looks like one)."""
    data = secret.encode("utf-8")
    if len(data) < MIN_SECRET_BYTES:
        return f"{len(data)} bytes; at least {MIN_SECRET_BYTES} random bytes are required"
    distinct = len(set(secret))
    for period in range(1, len(secret) // 2 + 1):
        if secret == (secret[:period] * (len(secret) // period + 1))[: len(secret)]:
            return f"it repeats a {period}-character pattern"
    if distinct < 10 or len(secret) * math.log2(distinct) < MIN_SECRET_BITS:
        return f"only {distinct} distinct characters: it is not random enough"
    return None


def warn_placeholder() -> None:
    """Loudly, on stderr and in the log: the development placeholder is public."""
    logging.getLogger("budget_rules").warning(PLACEHOLDER_WARNING)
    print(PLACEHOLDER_WARNING, file=sys.stderr, flush=True)
