"""Tables of the user accounts (用户账户) and their browser sessions (会话).

A user has a name (unique regardless of case: ``name_key`` is its case-folded form and never changes),
one role, an argon2 password hash, and a count of sign-in failures in a row that locks the account for
a while. A session row is what the browser's cookie points at: the cookie holds a random id, the table
only its SHA-256, so a copy of the database signs nobody in. Tokens (``tokens``) name their owner.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


class UserRow(SQLModel, table=True):
    """A person who signs in to the pages (用户)."""

    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=100)
    name_key: str = Field(max_length=100, unique=True)  # casefold(name): the person separation of duties compares
    role: str = Field(max_length=40)
    password_hash: str = Field(max_length=200)
    disabled: bool = False
    failures: int = 0  # sign-in failures in a row
    locked_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    created_by: str = Field(max_length=100)
    last_sign_in_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class SessionRow(SQLModel, table=True):
    """A signed-in browser (会话): only the SHA-256 of the cookie's random id is kept."""

    __tablename__ = "web_sessions"

    id_sha256: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=36, index=True)
    csrf: str = Field(max_length=64)  # random per session; every form POST carries it
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    last_seen_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
