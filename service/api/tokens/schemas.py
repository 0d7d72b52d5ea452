from __future__ import annotations

from pydantic import BaseModel


class TokenCreate(BaseModel):
    name: str
    role: str


class TokenCreated(BaseModel):
    name: str
    role: str
    token: str  # shown once
