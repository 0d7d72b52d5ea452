"""Who is looking at a page: the session cookie (the API token), its role, the CSRF token, the language.

The cookie holds the token itself (HttpOnly, SameSite=Strict, Secure over HTTPS): the token is checked
on every request exactly as a bearer token is (``authenticate``), so a revoked token signs the browser out
at once. The CSRF token is derived from the session token (HMAC with the audit secret), so it needs no
server-side storage and changes with every sign-in; every form POST must carry it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from service.app import roles
from service.app.errors import Unauthenticated
from service.app.state import AppState
from service.app.tokens import authenticate
from service.audit import Actor
from service.web.i18n import LANGS

SESSION_COOKIE = "br_session"
LANG_COOKIE = "br_lang"

# Who may see which page: the matrix of service/app/roles.py, the same as the API's.
COMPILER = roles.COMPILERS
DATASET_READERS = roles.DATASET_READERS
DECISION_READERS = roles.DECISION_READERS
AUDITORS = roles.AUDITORS
MAINTAINERS = roles.MAINTAINERS
APPROVERS = roles.APPROVERS
RULESET_READERS = roles.RULESET_READERS
IMPACT_PREVIEWERS = roles.IMPACT_PREVIEWERS
SIMULATION_RUNNERS = roles.SIMULATION_RUNNERS
SIMULATION_READERS = roles.SIMULATION_READERS


class LoginRequired(Exception):
    """No (valid) session: the page redirects to the sign-in page."""


class WebError(Exception):
    """A page-level error shown as an HTML error page with ``status``."""

    def __init__(self, status: int, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []


@dataclass(frozen=True)
class Viewer:
    actor: Actor
    csrf: str

    def may(self, allowed: tuple[str, ...]) -> bool:
        return roles.permits(self.actor.role, allowed)


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.budget_rules
    return state


def csrf_token(state: AppState, session_token: str) -> str:
    mac = hmac.new(
        state.settings.audit_secret.encode("utf-8"), b"csrf\0" + session_token.encode("utf-8"), hashlib.sha256
    )
    return mac.hexdigest()


def viewer_of(request: Request) -> Viewer | None:
    """The signed-in viewer, or None (no cookie, or a token that no longer authenticates)."""
    cached = getattr(request.state, "web_viewer", False)
    if cached is None or isinstance(cached, Viewer):
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    viewer = None
    if token:
        state = state_of(request)
        try:
            with state.db.transaction() as session:
                actor = authenticate(session, token)
            viewer = Viewer(actor=actor, csrf=csrf_token(state, token))
        except Unauthenticated:
            viewer = None
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
