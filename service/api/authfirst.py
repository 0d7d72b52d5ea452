"""Authentication before anything else: no body is read or parsed for a caller without a valid token.

:class:`AuthenticateFirstMiddleware` sits outside the body limit and every route: for each request
under ``/v1/`` it checks the bearer token (in a worker thread: it is a database lookup) and answers 401
``unauthenticated`` at once when the token is missing, unknown, revoked or expired — before a single
byte of the body is received, whatever the body holds. A database failure while checking answers 503
``database_unavailable``. The endpoints' own role check (service/api/deps.py) still runs: this layer
only guarantees that unauthenticated bodies cost nothing. The actor found is handed to that check in the
request's scope (:func:`authenticated_actor`), so a request looks its token up once, not twice.

Each token verified here is remembered (its SHA-256, in a bounded LRU: :class:`VerifiedTokens`) so that
the rate limiter (service/api/security.py) keys a caller by token only once the token has proved
real; until then it keys by client address, so a flood of made-up tokens is limited like any other
flood from that address.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable

import anyio.to_thread
import psycopg
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.errors import envelope
from service.app import errors as app_errors
from service.audit import Actor

log = logging.getLogger("budget_rules.api")

MISSING = "missing bearer token (Authorization: Bearer TOKEN)"
PROTECTED_PREFIX = "/v1/"
ACTOR_SCOPE_KEY = "budget_rules.actor"
"""Where the actor found for the request's token is kept in the ASGI scope (with the token's SHA-256), so
the endpoints' dependency (service/api/deps.py) checks its role without a second database lookup."""


class VerifiedTokens:
    """SHA-256 digests of bearer tokens verified by this worker; thread-safe, at most ``max_keys``."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        # set by the rate limiter: a token's first verified request is charged to its own bucket too
        self.on_first_sight: Callable[[str], object] | None = None

    def add(self, digest: str) -> None:
        with self._lock:
            new = digest not in self._seen
            self._seen[digest] = None
            self._seen.move_to_end(digest)
            while len(self._seen) > self.max_keys:
                self._seen.popitem(last=False)
        if new and self.on_first_sight is not None:
            self.on_first_sight(digest)

    def __contains__(self, digest: object) -> bool:
        with self._lock:
            return digest in self._seen


def bearer_token(scope: Scope) -> bytes | None:
    """The credentials of ``Authorization: Bearer …``, or None."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            if scheme.lower() == b"bearer" and credentials.strip():
                return bytes(credentials.strip())
    return None


def token_digest(token: bytes) -> str:
    return hashlib.sha256(token).hexdigest()


class AuthenticateFirstMiddleware:
    def __init__(self, app: ASGIApp, verified: VerifiedTokens) -> None:
        self.app = app
        self.verified = verified

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PROTECTED_PREFIX):
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        if token is None:
            await _unauthenticated(MISSING)(scope, receive, send)
            return
        state = scope["app"].state.budget_rules
        try:
            actor = await anyio.to_thread.run_sync(_check, state, token.decode("utf-8", "replace"))
        except app_errors.Unauthenticated as error:
            await _unauthenticated(error.message)(scope, receive, send)
            return
        except (SQLAlchemyError, sqlite3.Error, psycopg.Error) as error:
            log.error("database unavailable while authenticating: %s", type(error).__name__)
            response = envelope(
                503,
                "database_unavailable",
                "the database is unreachable; try again later",
                headers={"Retry-After": "5"},
            )
            await response(scope, receive, send)
            return
        digest = token_digest(token)
        self.verified.add(digest)
        scope[ACTOR_SCOPE_KEY] = (digest, actor)
        await self.app(scope, receive, send)


def authenticated_actor(scope: Scope, token: str) -> Actor | None:
    """The actor this middleware found for ``token`` in this same request, or None (then look it up)."""
    found = scope.get(ACTOR_SCOPE_KEY)
    if found is None:
        return None
    digest, actor = found
    presented = token.encode("latin-1", "replace")  # Starlette decodes header values as latin-1: the raw bytes
    return actor if hmac.compare_digest(digest, token_digest(presented)) else None


def _check(state: object, token: str) -> Actor:
    from service.app.state import AppState
    from service.app.tokens import authenticate

    assert isinstance(state, AppState)
    with state.db.transaction() as session:
        return authenticate(session, token)


def _unauthenticated(message: str) -> JSONResponse:
    return envelope(401, "unauthenticated", message, headers={"WWW-Authenticate": "Bearer", "Connection": "close"})
