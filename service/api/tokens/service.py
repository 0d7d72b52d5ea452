"""Token life cycle. The plaintext exists only in the return value of :func:`create_token`."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlmodel import Session

from service import audit
from service.api.errors import Conflict, NotFound, Unauthenticated
from service.api.tokens import repository
from service.domain.errors import InvalidInput, Problem
from service.storage.db import utc_now
from service.storage.models import TokenRow

ROLES = ("compiler", "analyst", "maintainer", "approver", "auditor", "admin")
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


def create_token(session: Session, name: str, role: str, *, secret: str, actor: audit.Actor = SYSTEM) -> str:
    """Create a token named ``name`` with ``role`` and return its plaintext (shown once, never stored)."""
    _check(name, role)
    if repository.by_name(session, name) is not None:
        raise Conflict(f"a token named {name!r} already exists; revoke it first", code="token_exists")
    plaintext = "br_" + secrets.token_urlsafe(32)
    session.add(TokenRow(name=name, role=role, token_sha256=token_hash(plaintext), created_at=utc_now()))
    session.flush()
    audit.append(
        session,
        secret,
        actor=actor,
        action="token.create",
        subject=name,
        input_doc={"name": name, "role": role},
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


def authenticate(session: Session, presented: str) -> audit.Actor:
    """The actor behind a bearer token; the stored hash is compared in constant time."""
    digest = token_hash(presented)
    row = repository.by_hash(session, digest)
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        raise Unauthenticated("invalid or revoked token")
    return audit.Actor(name=row.name, role=row.role)
