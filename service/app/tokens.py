"""Token life cycle. The plaintext exists only in the return value of :func:`create_token`.

A token may carry an expiry (``expires_at``, aware UTC); an expired token is refused like a revoked one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

from sqlmodel import Session

from service import audit
from service.app import accounts
from service.app.errors import Conflict, NotFound, Unauthenticated
from service.app.roles import ROLES as ROLES  # re-exported: the roles a token may carry
from service.domain.errors import InvalidInput, Problem
from service.storage.db import as_utc, utc_now
from service.storage.models import TokenRow
from service.storage.repositories import tokens as repository

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
SYSTEM = audit.Actor(name="cli", role="admin")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check(name: str, role: str) -> None:
    problems = []
    if not NAME.match(name):
        problems.append(
            Problem(("name",), "1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
        )
    if role not in ROLES:
        problems.append(Problem(("role",), f"must be one of {', '.join(ROLES)}"))
    if problems:
        raise InvalidInput(problems)


def create_token(
    session: Session,
    name: str,
    role: str,
    *,
    secret: str,
    actor: audit.Actor = SYSTEM,
    expires_at: datetime | None = None,
    user: str | None = None,
) -> str:
    """Create a token named ``name`` with ``role`` and return its plaintext (shown once, never stored).

    ``expires_at`` (optional): from then on the token is refused (401), as if revoked. ``user``
    (optional): the user the token belongs to (it must carry that user's role); without one, a token
    minted over the API belongs to its minter (service.app.accounts.owner_for_token).
    """
    _check(name, role)
    if repository.by_name(session, name) is not None:
        raise Conflict(f"a token named {name!r} already exists; revoke it first", code="token_exists")
    owner = accounts.owner_for_token(session, None if actor == SYSTEM else actor, user, role)
    plaintext = "br_" + secrets.token_urlsafe(32)
    expires_at = as_utc(expires_at) if expires_at is not None else None
    row = TokenRow(
        name=name,
        role=role,
        token_sha256=token_hash(plaintext),
        created_at=utc_now(),
        expires_at=expires_at,
        owner=owner,
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    input_doc: dict[str, str] = {"name": name, "role": role, "minted_by": actor.name, "owner": owner or ""}
    if expires_at is not None:
        input_doc["expires_at"] = expires_at.isoformat()
    audit.append(
        session,
        secret,
        actor=actor,
        action="token.create",
        subject=name,
        input_doc=input_doc,
        result_doc={"created": True},
    )
    return plaintext


def revoke_token(session: Session, name: str, *, secret: str, actor: audit.Actor = SYSTEM) -> None:
    row = repository.by_name(session, name)
    if row is None:
        raise NotFound(f"no token named {name!r}")
    role = row.role
    session.delete(row)
    session.flush()
    audit.append(
        session,
        secret,
        actor=actor,
        action="token.revoke",
        subject=name,
        input_doc={"name": name, "role": role},
        result_doc={"revoked": True},
    )


def authenticate(session: Session, presented: str, now: datetime | None = None) -> audit.Actor:
    """The actor behind a bearer token; the stored hash is compared in constant time; expired tokens refused."""
    digest = token_hash(presented)
    row = repository.by_hash(session, digest)
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        raise Unauthenticated("invalid or revoked token")
    if row.expires_at is not None and as_utc(row.expires_at) <= (now or utc_now()):
        raise Unauthenticated("the token has expired")
    if row.owner is not None and not accounts.owner_is_active(session, row.owner):
        raise Unauthenticated("the token's user is disabled")
    return audit.Actor(name=row.name, role=row.role, owner=row.owner)
