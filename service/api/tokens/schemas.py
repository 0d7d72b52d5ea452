from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field is a mistake, never silently dropped

    name: str
    role: str
    expires_in_days: int | None = Field(default=None, ge=1, le=3650, description="omitted: never expires")


class TokenCreated(BaseModel):
    name: str
    role: str
    token: str  # shown once
    expires_at: datetime | None = None
