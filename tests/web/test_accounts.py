"""User accounts: password sign-in with an opaque server-side session, login CSRF, lockout, sign-out
everywhere, the admin page, the CLI, tokens that belong to users, and separation of duties per person.

The app is the API's own (``create_app``) on a temporary SQLite database; the browser walk is in
test_web_browser.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from service import audit
from service.api import create_app
from service.app import accounts
from service.app.tokens import create_token
from service.settings import Settings
from service.storage.accounts import SessionRow, UserRow
from service.storage.models import AuditRecordRow, TokenRow

REPO = Path(__file__).resolve().parents[2]
SECRET = "accounts-test-secret"
PASSWORD = "correct horse battery"


def make_app(tmp: Path, **settings: object) -> FastAPI:
    url = f"sqlite:///{tmp / 'budget-rules.sqlite3'}"
    return create_app(Settings(database_url=url, audit_secret=SECRET, environment="test", **settings), warm=False)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    app = make_app(tmp_path_factory.mktemp("accounts"))
    with TestClient(app):
        yield app


def new_user(app: FastAPI, role: str, name: str | None = None, password: str = PASSWORD) -> str:
    name = name or f"{role}.{uuid.uuid4().hex[:6]}"
    with app.state.budget_rules.db.transaction() as session:
        accounts.create_user(session, SECRET, accounts.CONSOLE, name, role, password)
    return name


def login_form(client: TestClient) -> str:
    page = client.get("/ui/login")
    assert page.status_code == 200
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert match, "the sign-in form carries no CSRF token"
    return match.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> int:
    csrf = login_form(client)
    response = client.post("/ui/login", data={"username": name, "password": password, "csrf": csrf, "next": "/ui/"})
    return response.status_code


def page_csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


def records(app: FastAPI, action: str, subject: str) -> list[AuditRecordRow]:
    with app.state.budget_rules.db.transaction() as session:
        statement = select(AuditRecordRow).where(AuditRecordRow.action == action, AuditRecordRow.subject == subject)
        return list(session.exec(statement).all())


def test_password_sign_in_gives_an_opaque_server_side_session(app: FastAPI) -> None:
    name = new_user(app, "auditor")
    client = TestClient(app, follow_redirects=False)
    assert sign_in(client, name) == 303
    cookie = client.cookies.get("br_session")
    assert cookie and PASSWORD not in cookie and name not in cookie
    with app.state.budget_rules.db.transaction() as session:
        stored = session.get(SessionRow, hashlib.sha256(cookie.encode()).hexdigest())
        user = session.exec(select(UserRow).where(UserRow.name == name)).one()
        tokens = session.exec(select(TokenRow)).all()
    assert stored is not None and stored.user_id == user.id  # only the id's hash is kept
    assert all(t.token_sha256 != hashlib.sha256(cookie.encode()).hexdigest() for t in tokens)
    assert user.password_hash.startswith("$argon2id$")
    home = client.get("/ui/")
    assert home.status_code == 200 and name in home.text
    assert records(app, "user.sign_in", name)


def test_sign_out_ends_the_session_on_the_server(app: FastAPI) -> None:
    name = new_user(app, "auditor")
    client = TestClient(app, follow_redirects=False)
    assert sign_in(client, name) == 303
    cookie = client.cookies.get("br_session")
    home = client.get("/ui/")
    assert client.post("/ui/logout", data={"csrf": page_csrf(home.text)}).status_code == 303
    thief = TestClient(app, follow_redirects=False)
    thief.cookies.set("br_session", cookie or "")
    assert thief.get("/ui/audit").status_code == 303  # a copied cookie is dead after sign-out


def test_sign_out_everywhere_ends_every_session_of_the_user(app: FastAPI) -> None:
    name = new_user(app, "auditor")
    laptop, phone = TestClient(app, follow_redirects=False), TestClient(app, follow_redirects=False)
    assert sign_in(laptop, name) == 303 and sign_in(phone, name) == 303
    assert phone.get("/ui/audit").status_code == 200
    home = laptop.get("/ui/")
    assert laptop.post("/ui/logout", data={"csrf": page_csrf(home.text), "everywhere": "1"}).status_code == 303
    assert phone.get("/ui/audit").status_code == 303


def test_sign_in_form_refuses_posts_without_its_csrf_token_or_from_another_origin(app: FastAPI) -> None:
    name = new_user(app, "auditor")
    client = TestClient(app, follow_redirects=False)
    forged = client.post("/ui/login", data={"username": name, "password": PASSWORD})
    assert forged.status_code == 403
    assert "br_session" not in forged.headers.get("set-cookie", "")
    csrf = login_form(client)
    other_origin = client.post(
        "/ui/login",
        data={"username": name, "password": PASSWORD, "csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert other_origin.status_code == 403
    # a token minted for another browser's nonce is worthless here
    stranger = TestClient(app, follow_redirects=False)
    refused = stranger.post("/ui/login", data={"username": name, "password": PASSWORD, "csrf": csrf})
    assert refused.status_code == 403
    assert sign_in(client, name) == 303


def test_lockout_after_ten_failures_and_the_message_never_tells_whether_the_name_exists(app: FastAPI) -> None:
    name = new_user(app, "auditor")
    client = TestClient(app, follow_redirects=False)
    texts = set()
    for _ in range(10):
        csrf = login_form(client)
        response = client.post("/ui/login", data={"username": name, "password": "wrong password!", "csrf": csrf})
        assert response.status_code == 401
        texts.add(re.search(r'id="sign-in-failed">([^<]*)<', response.text).group(1))  # type: ignore[union-attr]
    # now locked: the right password is refused too, with the same words as for a name that does not exist
    csrf = login_form(client)
    locked = client.post("/ui/login", data={"username": name, "password": PASSWORD, "csrf": csrf})
    assert locked.status_code == 401
    csrf = login_form(client)
    unknown = client.post("/ui/login", data={"username": "nobody-" + name, "password": PASSWORD, "csrf": csrf})
    assert unknown.status_code == 401
    for response in (locked, unknown):
        texts.add(re.search(r'id="sign-in-failed">([^<]*)<', response.text).group(1))  # type: ignore[union-attr]
    assert len(texts) == 1 and "锁定" in texts.pop()
    assert len(records(app, "user.sign_in_failed", name)) == 11
    assert len(records(app, "user.lock", name)) == 1
    # an admin's password reset lifts the lock
    with app.state.budget_rules.db.transaction() as session:
        accounts.reset_password(session, SECRET, accounts.CONSOLE, name, PASSWORD + "2")
    assert sign_in(client, name, PASSWORD + "2") == 303


def test_the_lock_lasts_only_a_while(app: FastAPI) -> None:
    from datetime import timedelta

    from service.storage.db import utc_now

    name = new_user(app, "auditor")
    db = app.state.budget_rules.db
    policy = accounts.Policy(max_failures=3, lock_minutes=15)
    now = utc_now()
    for _ in range(3):
        with pytest.raises(accounts.Unauthenticated):
            accounts.sign_in(db, SECRET, name, "wrong password!", policy, now=now)
    with pytest.raises(accounts.Unauthenticated):
        accounts.sign_in(db, SECRET, name, PASSWORD, policy, now=now + timedelta(minutes=14))
    assert accounts.sign_in(db, SECRET, name, PASSWORD, policy, now=now + timedelta(minutes=16)).cookie


def test_disabling_a_user_ends_sessions_and_refuses_their_tokens(app: FastAPI) -> None:
    name = new_user(app, "auditor")
    client = TestClient(app, follow_redirects=False)
    assert sign_in(client, name) == 303
    with app.state.budget_rules.db.transaction() as session:
        token = create_token(session, f"tok-{uuid.uuid4().hex[:6]}", "auditor", secret=SECRET, user=name)
    api = TestClient(app)
    assert api.get("/v1/audit/head", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with app.state.budget_rules.db.transaction() as session:
        accounts.set_disabled(session, SECRET, accounts.CONSOLE, name)
    assert client.get("/ui/audit").status_code == 303
    assert api.get("/v1/audit/head", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert sign_in(client, name) == 401


def test_session_cookie_is_secure_behind_a_trusted_tls_proxy_only(tmp_path: Path) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}

    def cookie_flags(app: FastAPI) -> str:
        with TestClient(app, follow_redirects=False) as client:
            name = new_user(app, "auditor")
            page = client.get("/ui/login", headers=forwarded)
            nonce = page.headers["set-cookie"].split(";")[0]  # br_login=…, sent back by hand: it may be Secure
            client.cookies.clear()
            response = client.post(
                "/ui/login",
                data={"username": name, "password": PASSWORD, "csrf": page_csrf(page.text)},
                headers={**forwarded, "Cookie": nonce},
            )
            assert response.status_code == 303, response.text
            return next(c for c in response.headers.get_list("set-cookie") if c.startswith("br_session="))

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    assert "secure" in cookie_flags(make_app(tmp_path / "a", trusted_proxies="testclient")).lower()
    assert "secure" not in cookie_flags(make_app(tmp_path / "b")).lower()  # headers from anyone are ignored
    assert "secure" not in cookie_flags(make_app(tmp_path / "c", trusted_proxies="10.0.0.1")).lower()


def test_admin_page_creates_disables_resets_and_revokes(app: FastAPI) -> None:
    admin = new_user(app, "admin")
    client = TestClient(app, follow_redirects=False)
    assert sign_in(client, admin) == 303
    assert TestClient(app, follow_redirects=False).get("/ui/admin").status_code == 303
    auditor = TestClient(app, follow_redirects=False)
    assert sign_in(auditor, new_user(app, "auditor")) == 303
    assert auditor.get("/ui/admin").status_code == 403
    page = client.get("/ui/admin")
    assert page.status_code == 200
    csrf = page_csrf(page.text)
    name = f"新用户{uuid.uuid4().hex[:4]}"
    made = client.post(
        "/ui/admin/users", data={"csrf": csrf, "username": name, "role": "compiler", "password": PASSWORD}
    )
    assert made.status_code == 303
    assert (
        client.post(
            "/ui/admin/users", data={"username": "x" + name, "role": "compiler", "password": PASSWORD}
        ).status_code
        == 403
    )
    again = client.post(
        "/ui/admin/users", data={"csrf": csrf, "username": name.upper(), "role": "compiler", "password": PASSWORD}
    )
    assert again.status_code == 409
    short = client.post(
        "/ui/admin/users", data={"csrf": csrf, "username": "y" + name, "role": "compiler", "password": "short"}
    )
    assert short.status_code == 422
    alert = re.search(r'id="error-message">(.*?)</div>', short.text, re.S)
    assert alert and "有问题的项：密码" in alert.group(1) and "password" not in alert.group(1)
    assert sign_in(TestClient(app, follow_redirects=False), name) == 303
    url = f"/ui/admin/users/{name}"
    assert client.post(f"{url}/role", data={"csrf": csrf, "role": "analyst"}).status_code == 303
    assert records(app, "user.role_change", name)
    assert client.post(f"{url}/password", data={"csrf": csrf, "password": PASSWORD + "x"}).status_code == 303
    assert sign_in(TestClient(app, follow_redirects=False), name, PASSWORD + "x") == 303
    assert client.post(f"{url}/disable", data={"csrf": csrf}).status_code == 303
    assert sign_in(TestClient(app, follow_redirects=False), name, PASSWORD + "x") == 401
    # the admin cannot give itself another role, nor disable itself
    assert client.post(f"/ui/admin/users/{admin}/role", data={"csrf": csrf, "role": "approver"}).status_code == 403
    assert client.post(f"/ui/admin/users/{admin}/disable", data={"csrf": csrf}).status_code == 403
    # tokens: listed with owner and minter, and revoked from the page
    token_name = f"ci-{uuid.uuid4().hex[:6]}"
    with app.state.budget_rules.db.transaction() as session:
        create_token(session, token_name, "auditor", secret=SECRET, actor=audit.Actor(admin, "admin"))
    listing = client.get("/ui/admin")
    assert token_name in listing.text
    assert client.post(f"/ui/admin/tokens/{token_name}/revoke", data={"csrf": csrf}).status_code == 303
    assert token_name not in client.get("/ui/admin").text


def test_tokens_record_who_minted_them_and_belong_to_a_person(app: FastAPI) -> None:
    """An admin that mints itself a maintainer and an approver token is one person in both."""
    admin = new_user(app, "admin", name=f"Root-{uuid.uuid4().hex[:4]}")
    api = TestClient(app)
    admin_token_name = f"adm-{uuid.uuid4().hex[:6]}"
    with app.state.budget_rules.db.transaction() as session:
        admin_token = create_token(session, admin_token_name, "admin", secret=SECRET, user=admin)
    h = {"Authorization": f"Bearer {admin_token}"}
    minted = {}
    for role in ("maintainer", "approver"):
        response = api.post("/v1/tokens", json={"name": f"{role}-{uuid.uuid4().hex[:6]}", "role": role}, headers=h)
        assert response.status_code == 201, response.text
        minted[role] = response.json()
    with app.state.budget_rules.db.transaction() as session:
        rows = {r.name: r for r in session.exec(select(TokenRow)).all()}
    for made in minted.values():
        assert rows[made["name"]].created_by == admin_token_name  # who minted which token
        assert rows[made["name"]].owner == admin.casefold()  # ... and it is the admin's
        assert records(app, "token.create", made["name"])[0].actor_name == admin_token_name
    # a token for a named user carries that user's role, or is refused
    bob = new_user(app, "analyst")
    wrong = api.post(
        "/v1/tokens", json={"name": f"b-{uuid.uuid4().hex[:6]}", "role": "approver", "user": bob}, headers=h
    )
    assert wrong.status_code == 422


def test_cli_user_commands(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BUDGET_RULES_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "BUDGET_RULES_AUDIT_SECRET": SECRET,
        "BUDGET_RULES_ENVIRONMENT": "test",
    }
    cli = [str(Path(sys.executable).parent / "budget-rules"), "user"]

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], input=stdin, env=env, capture_output=True, text=True, timeout=120)

    made = run("create", "--name", "Zhang.San", "--role", "compiler", "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    assert PASSWORD not in made.stdout + made.stderr
    assert run("create", "--name", "zhang.san", "--role", "auditor", "--password-stdin", stdin=PASSWORD).returncode == 1
    bad = run("create", "--name", "li", "--role", "king", "--password-stdin", stdin=PASSWORD)
    assert bad.returncode == 2 and "role" in bad.stderr
    reserved = run("create", "--name", "Console", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert reserved.returncode == 2 and "service's own actors" in reserved.stderr
    assert run("reset-password", "--name", "zhang.san", "--password-stdin", stdin="another password\n").returncode == 0
    assert run("disable", "--name", "ZHANG.SAN").returncode == 0
    listed = run("list")
    assert listed.returncode == 0 and "Zhang.San\tcompiler\tdisabled" in listed.stdout
    assert run("disable", "--name", "nobody").returncode == 1
    app = create_app(Settings(database_url=env["BUDGET_RULES_DATABASE_URL"], audit_secret=SECRET, environment="test"))
    with app.state.budget_rules.db.transaction() as session:
        actions = [r.action for r in session.exec(select(AuditRecordRow)).all() if r.subject == "Zhang.San"]
        verification = audit.verify(session, SECRET)
    assert actions == ["user.create", "user.reset_password", "user.disable"]
    assert verification.ok
    assert json.dumps(actions)


def test_maker_checker_compares_persons(app: FastAPI) -> None:
    """Case does not make another person; an admin's self-minted tokens, and a user's token and session,
    are one person each (issue 10 point 12)."""
    from tests.api.conftest import transition, upload_revision, variant

    api = TestClient(app)

    def token(role: str, name: str, user: str | None = None, minter: audit.Actor | None = None) -> str:
        with app.state.budget_rules.db.transaction() as session:
            if minter is None:
                return create_token(session, name, role, secret=SECRET, user=user)
            return create_token(session, name, role, secret=SECRET, actor=minter, user=user)

    tag = uuid.uuid4().hex[:6]
    # 1. "MC-BOB" approves what "mc-bob" proposed: refused
    made = upload_revision(api, token("maintainer", f"mc-bob{tag}"), variant(11))
    assert made.status_code == 201, made.text
    refused = transition(api, token("approver", f"MC-BOB{tag}"), made.json()["revision"], "approve", reason="ok")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "same_person"
    # 2. an admin mints itself a maintainer and an approver token: still one person
    root = audit.Actor(name=f"root{tag}", role="admin")
    made = upload_revision(api, token("maintainer", f"m-{tag}", minter=root), variant(12))
    assert made.status_code == 201, made.text
    refused = transition(
        api, token("approver", f"a-{tag}", minter=root), made.json()["revision"], "approve", reason="x"
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "same_person"
    # 3. a user's token and the same user (as approver later) are one person; another user may approve
    carol = new_user(app, "maintainer", name=f"Carol{tag}")
    made = upload_revision(api, token("maintainer", f"carol-ci-{tag}", user=carol), variant(13))
    assert made.status_code == 201, made.text
    assert made.json()["created_by"] == carol.casefold()
    with app.state.budget_rules.db.transaction() as session:
        accounts.change_role(session, SECRET, accounts.CONSOLE, carol, "approver")
    refused = transition(
        api, token("approver", f"carol-2-{tag}", user=carol), made.json()["revision"], "approve", reason="x"
    )
    assert refused.status_code == 409
    dave = new_user(app, "approver")
    approved = transition(
        api, token("approver", f"dave-{tag}", user=dave), made.json()["revision"], "approve", reason="ok"
    )
    assert approved.status_code == 200, approved.text
