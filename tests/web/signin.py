"""Signing in to the pages in the tests that use the app in process (``TestClient``), as a person does:
a user account made through ``service.app.accounts`` and the sign-in form (user name, password, and the
form's CSRF token bound to the pre-session cookie). One user per role, or per person where a test needs
two people (maker-checker compares persons).

The browser tests (test_web_browser.py) sign in the same way through Chromium with their own users.
"""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.app import accounts
from service.app.tokens import create_token

PASSWORD = "web pages password"


def _secret(app: FastAPI) -> str:
    return str(app.state.budget_rules.settings.audit_secret)


def new_user(app: FastAPI, role: str, name: str | None = None) -> str:
    """A new user account with ``role`` (and the test password); returns its name."""
    name = name or f"{role}-{uuid.uuid4().hex[:6]}"
    with app.state.budget_rules.db.transaction() as session:
        accounts.create_user(session, _secret(app), accounts.CONSOLE, name, role, PASSWORD)
    return name


def change_role(app: FastAPI, name: str, role: str) -> None:
    """Give the user another role, as an administrator does from the server console."""
    with app.state.budget_rules.db.transaction() as session:
        accounts.change_role(session, _secret(app), accounts.CONSOLE, name, role)


def new_token(app: FastAPI, user: str, role: str) -> str:
    """An API token belonging to ``user`` (for the API calls a test makes beside the pages)."""
    with app.state.budget_rules.db.transaction() as session:
        return create_token(session, f"{user}-api-{uuid.uuid4().hex[:4]}", role, secret=_secret(app), user=user)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def browser(app: FastAPI, user: str | None = None) -> TestClient:
    """A client of its own (its own cookie jar), signed in as ``user`` with the sign-in form."""
    client = TestClient(app, follow_redirects=False)
    if user:
        csrf = csrf_of(client.get("/ui/login").text)
        data = {"username": user, "password": PASSWORD, "next": "/ui/", "csrf": csrf}
        response = client.post("/ui/login", data=data)
        assert response.status_code == 303, response.text
    return client
