"""User accounts (用户账户): create, disable, reset passwords, change roles, sign in and out.

Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher`` and its current parameters); a hash
made with older parameters is re-hashed at the next successful sign-in. A browser session is a random id
in the cookie and a row holding its SHA-256 (``service.storage.accounts.SessionRow``): nothing in the cookie
is a password or a token, and signing out everywhere deletes the rows.

Sign-in failures in a row are counted per user; at ``max_failures`` (at most 10) the account is locked
for ``lock_minutes``. Whatever went wrong (no such user, wrong password, locked, disabled) the caller gets
the same :class:`Unauthenticated` message, so the answer never tells whether a name exists. Every sign-in,
failure, lock, sign-out and account change is an audit record.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, col, delete, select

from service import audit
from service.app.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, Unauthenticated
from service.storage.accounts import SessionRow, UserRow
from service.storage.db import Database, as_utc, utc_now
from service.storage.models import TokenRow

ROLES = ("compiler", "analyst", "maintainer", "approver", "auditor", "admin")
# Letters of any script (张三 as well as zhang.san), digits, '.', '_', '@', '-'; first a letter or digit.
USER_NAME = re.compile(r"^[^\W_][\w.@-]{0,99}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # bounded before hashing: argon2 of a megabyte is work an attacker chooses
SIGN_IN_FAILED = "the user name or password is wrong, or the account is locked for a while after repeated failures"
CONSOLE = audit.Actor(name="console", role="admin")
# The service's own actors (console, ruleset installs, simulation workers): no person may take their names.
RESERVED_NAMES = frozenset({"console", "cli", "system", "simulation-worker", "-"})

_hasher = PasswordHasher()
# Verified against when the name is unknown, so a missing user costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Policy:
    """The sign-in rules (from the settings)."""

    max_failures: int = 10
    lock_minutes: int = 15
    session_hours: int = 12


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: ``cookie`` goes to the browser (only its hash is stored)."""

    cookie: str
    csrf: str
    actor: audit.Actor


def name_key(name: str) -> str:
    return name.strip().casefold()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _name_problems(name: str) -> list[Problem]:
    if name.casefold() in RESERVED_NAMES:
        return [Problem(("name",), f"{name!r} is the name of one of the service's own actors; choose another")]
    if USER_NAME.match(name):
        return []
    return [Problem(("name",), "1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")]


def _role_problems(role: str) -> list[Problem]:
    return [] if role in ROLES else [Problem(("role",), f"must be one of {', '.join(ROLES)}")]


def _password_problems(password: str) -> list[Problem]:
    if len(password) < MIN_PASSWORD or len(password) > MAX_PASSWORD:
        return [Problem(("password",), f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")]
    if password.strip() != password:
        return [Problem(("password",), "must not begin or end with spaces")]
    return []


def _refuse(problems: list[Problem]) -> None:
    if problems:
        raise InvalidInput(problems)


def _record(
    session: Session, secret: str, actor: audit.Actor, action: str, user: str, input_doc: object, result: object
) -> None:
    audit.append(session, secret, actor=actor, action=action, subject=user, input_doc=input_doc, result_doc=result)


def by_name(session: Session, name: str) -> UserRow | None:
    return session.exec(select(UserRow).where(UserRow.name_key == name_key(name))).first()


def _existing(session: Session, name: str) -> UserRow:
    row = by_name(session, name)
    if row is None:
        raise NotFound(f"no user named {name!r}")
    return row


def list_users(session: Session) -> list[UserRow]:
    return list(session.exec(select(UserRow).order_by(col(UserRow.name_key))).all())


def is_locked(user: UserRow, now: datetime | None = None) -> bool:
    return user.locked_until is not None and as_utc(user.locked_until) > (now or utc_now())


def list_tokens(session: Session) -> list[TokenRow]:
    return list(session.exec(select(TokenRow).order_by(col(TokenRow.name))).all())


def create_user(session: Session, secret: str, actor: audit.Actor, name: str, role: str, password: str) -> UserRow:
    """A new user with ``role``; 409 when the name (regardless of case) is taken."""
    name = name.strip()
    _refuse(_name_problems(name) + _role_problems(role) + _password_problems(password))
    if by_name(session, name) is not None:
        raise Conflict(f"a user named {name!r} already exists", code="user_exists")
    row = UserRow(
        id=str(uuid.uuid4()),
        name=name,
        name_key=name_key(name),
        role=role,
        password_hash=hash_password(password),
        created_at=utc_now(),
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    _record(session, secret, actor, "user.create", name, {"name": name, "role": role}, {"created": True})
    return row


def _end_sessions(session: Session, user_id: str) -> int:
    rows = session.exec(select(SessionRow).where(SessionRow.user_id == user_id)).all()
    session.exec(delete(SessionRow).where(col(SessionRow.user_id) == user_id))
    return len(rows)


def set_disabled(session: Session, secret: str, actor: audit.Actor, name: str, disabled: bool = True) -> UserRow:
    """Disable (every session ends, every token it owns is refused) or enable a user."""
    row = _existing(session, name)
    if disabled and row.name_key == actor.person:
        raise Forbidden("you cannot disable your own account", code="own_account")
    row.disabled = disabled
    if not disabled:
        row.failures, row.locked_until = 0, None
    session.add(row)
    ended = _end_sessions(session, row.id) if disabled else 0
    action = "user.disable" if disabled else "user.enable"
    _record(
        session, secret, actor, action, row.name, {"name": row.name}, {"disabled": disabled, "sessions_ended": ended}
    )
    return row


def reset_password(session: Session, secret: str, actor: audit.Actor, name: str, password: str) -> UserRow:
    """A new password; the lock is lifted and every session of the user ends."""
    _refuse(_password_problems(password))
    row = _existing(session, name)
    row.password_hash = hash_password(password)
    row.failures, row.locked_until = 0, None
    session.add(row)
    ended = _end_sessions(session, row.id)
    _record(session, secret, actor, "user.reset_password", row.name, {"name": row.name}, {"sessions_ended": ended})
    return row


def change_role(session: Session, secret: str, actor: audit.Actor, name: str, role: str) -> UserRow:
    """Give a user another role. Nobody changes their own role (an admin cannot make itself an approver)."""
    _refuse(_role_problems(role))
    row = _existing(session, name)
    if row.name_key == actor.person:
        raise Forbidden("you cannot change your own role; another admin must", code="own_account")
    before = row.role
    row.role = role
    session.add(row)
    _record(session, secret, actor, "user.role_change", row.name, {"name": row.name, "role": role}, {"before": before})
    return row


def _session_hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()


def sign_in(
    db: Database, secret: str, name: str, password: str, policy: Policy, now: datetime | None = None
) -> SignedIn:
    """A new session for the user, or :class:`Unauthenticated` with one message for every failure.

    The failure is committed (counted, and audited) before the error is raised.
    """
    now = now or utc_now()
    name = name.strip()[:100]
    password = password[:MAX_PASSWORD]
    failed: str | None = None
    with db.transaction() as session:
        row = by_name(session, name) if name else None
        if row is None:
            _verify(_DUMMY_HASH, password)
            anonymous = audit.Actor(name=name or "-", role="none")
            _record(
                session, secret, anonymous, "user.sign_in_failed", name or "-", {"name": name}, {"reason": "unknown"}
            )
            failed = "unknown"
        else:
            actor = audit.Actor(name=row.name, role=row.role)
            locked = is_locked(row, now)
            good = _verify(row.password_hash, password)
            if row.disabled or locked or not good:
                failed = "disabled" if row.disabled else "locked" if locked else "password"
                if failed == "password":
                    row.failures += 1
                session.add(row)
                result = {"reason": failed, "failures": row.failures}
                _record(session, secret, actor, "user.sign_in_failed", row.name, {"name": row.name}, result)
                if failed == "password" and row.failures >= policy.max_failures:
                    row.locked_until = now + timedelta(minutes=policy.lock_minutes)
                    row.failures = 0
                    until = row.locked_until.isoformat()
                    _record(session, secret, actor, "user.lock", row.name, {"name": row.name}, {"locked_until": until})
            else:
                if _hasher.check_needs_rehash(row.password_hash):
                    row.password_hash = hash_password(password)
                row.failures, row.locked_until, row.last_sign_in_at = 0, None, now
                session.add(row)
                cookie, csrf = secrets.token_urlsafe(32), secrets.token_hex(32)
                expires = now + timedelta(hours=policy.session_hours)
                session.add(
                    SessionRow(
                        id_sha256=_session_hash(cookie),
                        user_id=row.id,
                        csrf=csrf,
                        created_at=now,
                        last_seen_at=now,
                        expires_at=expires,
                    )
                )
                _record(
                    session,
                    secret,
                    actor,
                    "user.sign_in",
                    row.name,
                    {"name": row.name},
                    {"expires_at": expires.isoformat()},
                )
                return SignedIn(cookie=cookie, csrf=csrf, actor=actor)
    raise Unauthenticated(SIGN_IN_FAILED, code="sign_in_failed")


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def session_viewer(session: Session, cookie: str, now: datetime | None = None) -> tuple[audit.Actor, str] | None:
    """The actor and CSRF token of a browser session; None when it is unknown, expired or its user disabled."""
    row = session.get(SessionRow, _session_hash(cookie))
    if row is None or as_utc(row.expires_at) <= (now or utc_now()):
        return None
    user = session.get(UserRow, row.user_id)
    if user is None or user.disabled:
        return None
    return audit.Actor(name=user.name, role=user.role), row.csrf


def sign_out(db: Database, secret: str, cookie: str, everywhere: bool = False) -> None:
    """End this session (or every session of its user); recorded in the audit chain."""
    with db.transaction() as session:
        row = session.get(SessionRow, _session_hash(cookie))
        if row is None:
            return
        user = session.get(UserRow, row.user_id)
        ended = _end_sessions(session, row.user_id) if everywhere else 1
        if not everywhere:
            session.delete(row)
        if user is not None:
            actor = audit.Actor(name=user.name, role=user.role)
            _record(
                session,
                secret,
                actor,
                "user.sign_out",
                user.name,
                {"everywhere": everywhere},
                {"sessions_ended": ended},
            )


def owner_is_active(session: Session, owner: str) -> bool:
    """A token's owner may use it: not a disabled user (an owner who is no user, e.g. a console name, may)."""
    user = session.exec(select(UserRow).where(UserRow.name_key == owner)).first()
    return user is None or not user.disabled


def owner_for_token(session: Session, minter: audit.Actor | None, user: str | None, role: str) -> str | None:
    """Whose a new token is: the named ``user`` (the token must carry that user's role), else its minter.

    A token minted over the API without a user belongs to whoever minted it, so an admin that mints
    itself a maintainer and an approver token is one person in both and cannot check its own work.
    Tokens made at the console (``minter`` None) belong to nobody unless a user is named.
    """
    if user:
        row = _existing(session, user)
        if row.disabled:
            raise Conflict(f"user {row.name!r} is disabled", code="user_disabled")
        if row.role != role:
            problem = Problem(("role",), f"user {row.name!r} is a {row.role}; a token carries its user's role")
            raise InvalidInput([problem])
        return row.name_key
    return minter.person if minter is not None else None
