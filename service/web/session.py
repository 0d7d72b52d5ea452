"""Who is looking at a page: the session cookie, its user and role, the CSRF token, the language.

The cookie holds a random session id (HttpOnly, SameSite=Strict, Secure over HTTPS, including behind a
trusted TLS proxy); the server keeps only its SHA-256 with the user and a random CSRF token
(``service.app.accounts``). The session is looked up on every request, so disabling a user, resetting
the password or signing out everywhere ends it at once. Every form POST must carry the CSRF token;
the sign-in form, which is posted before any session exists, carries one bound to a pre-session cookie
(``login_csrf``: double submit, HMAC with the audit secret), so another site cannot sign a browser in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from service.app import accounts, roles
from service.app.state import AppState
from service.audit import Actor
from service.web.i18n import LANGS

SESSION_COOKIE = "br_session"
LANG_COOKIE = "br_lang"
LOGIN_COOKIE = "br_login"  # the pre-session nonce the sign-in form's CSRF token is bound to

# Who may see which page: the matrix of service/app/roles.py, the same as the API's.
COMPILER = roles.COMPILERS
DATASET_READERS = roles.DATASET_READERS
DECISION_READERS = roles.DECISION_READERS
DRAFT_READERS = roles.DRAFT_READERS
AUDITORS = roles.AUDITORS
MAINTAINERS = roles.MAINTAINERS
APPROVERS = roles.APPROVERS
RULESET_READERS = roles.RULESET_READERS
IMPACT_PREVIEWERS = roles.IMPACT_PREVIEWERS
SIMULATION_RUNNERS = roles.SIMULATION_RUNNERS
SIMULATION_READERS = roles.SIMULATION_READERS
ADMINS = roles.ADMINS


class LoginRequired(Exception):
    """No (valid) session: the page redirects to the sign-in page."""


class WebError(Exception):
    """A page-level error shown as an HTML error page with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        details: list[str] | None = None,
        *,
        code: str | None = None,
        fields: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message  # a catalogue key (service/web/i18n.py), or the service's own words
        self.details = details or []
        self.code = code  # the service's error code: its words in the catalogue (err_code_<code>)
        self.fields = fields or []  # the fields with a problem (field names, shown by their labels)


@dataclass(frozen=True)
class Viewer:
    actor: Actor
    csrf: str

    def may(self, allowed: tuple[str, ...]) -> bool:
        return roles.permits(self.actor.role, allowed)


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.budget_rules
    return state


def login_nonce() -> str:
    return secrets.token_urlsafe(24)


def login_csrf(state: AppState, nonce: str) -> str:
    """The sign-in form's CSRF token: bound to the pre-session cookie's nonce (login CSRF)."""
    mac = hmac.new(state.settings.audit_secret.encode("utf-8"), b"login\0" + nonce.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()


def check_login_csrf(request: Request, form: Any) -> bool:
    nonce = request.cookies.get(LOGIN_COOKIE)
    sent = form.get("csrf")
    if not nonce or not isinstance(sent, str):
        return False
    return hmac.compare_digest(sent, login_csrf(state_of(request), nonce))


def viewer_of(request: Request) -> Viewer | None:
    """The signed-in viewer, or None (no cookie, or a session that ended or whose user is disabled)."""
    cached = getattr(request.state, "web_viewer", False)
    if cached is None or isinstance(cached, Viewer):
        return cached
    cookie = request.cookies.get(SESSION_COOKIE)
    viewer = None
    if cookie and len(cookie) <= 200:
        state = state_of(request)
        with state.db.transaction() as session:
            found = accounts.session_viewer(session, cookie)
        if found is not None:
            viewer = Viewer(actor=found[0], csrf=found[1])
    request.state.web_viewer = viewer
    return viewer


def need(request: Request, allowed: tuple[str, ...]) -> Viewer:
    """The viewer if their role is one of ``allowed``; else sign in (401) or the 403 page."""
    viewer = viewer_of(request)
    if viewer is None:
        raise LoginRequired()
    if not viewer.may(allowed):
        raise WebError(403, "err_403")
    return viewer


def check_csrf(viewer: Viewer, form: Any) -> None:
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, viewer.csrf):
        raise WebError(403, "err_csrf")


def lang_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    stored = request.cookies.get(LANG_COOKIE)
    return stored if stored in LANGS else "zh"
