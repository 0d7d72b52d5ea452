"""Service settings (配置), read from the environment with the prefix ``BUDGET_RULES_``.

Outside development the service refuses to start with the placeholder audit secret: the audit chain
is only as trustworthy as the secret behind its HMAC.
"""

from __future__ import annotations

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
        return self
