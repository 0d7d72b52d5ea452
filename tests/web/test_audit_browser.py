"""The auditors' audit browser: records listed with their actors, filters, one record opened, exports,
and a tampered chain shown where it breaks."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from service import audit
from service.api import create_app
from service.app import accounts
from service.settings import Settings

SECRET = "audit-browser-secret"
PASSWORD = "audit browser password"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    url = f"sqlite:///{tmp_path_factory.mktemp('audit') / 'budget-rules.sqlite3'}"
    app = create_app(Settings(database_url=url, audit_secret=SECRET, environment="test"), warm=False)
    with TestClient(app):
        yield app


def signed_in(app: FastAPI, role: str) -> tuple[TestClient, str]:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    with app.state.budget_rules.db.transaction() as session:
        accounts.create_user(session, SECRET, accounts.CONSOLE, name, role, PASSWORD)
    client = TestClient(app, follow_redirects=False)
    page = client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post("/ui/login", data={"username": name, "password": PASSWORD, "csrf": csrf})
    assert response.status_code == 303
    return client, name


def seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr data-seq="(\d+)"', html)]


def test_records_are_listed_with_their_actors_and_filtered(app: FastAPI) -> None:
    auditor, auditor_name = signed_in(app, "auditor")
    admin, admin_name = signed_in(app, "admin")
    with app.state.budget_rules.db.transaction() as session:
        accounts.create_user(session, SECRET, audit.Actor(admin_name, "admin"), "wang.wu", "compiler", PASSWORD)
    page = auditor.get("/ui/audit")
    assert page.status_code == 200
    assert 'data-ok="true"' in page.text
    assert auditor_name in page.text and admin_name in page.text  # records name their actors
    assert "登录" in page.text and "开设用户" in page.text  # actions in words, not codes
    assert "user.sign_in" not in re.sub(r'value="[^"]*"', "", page.text)
    everything = seqs(page.text)
    assert everything == sorted(everything, reverse=True)

    by_actor = seqs(auditor.get("/ui/audit", params={"actor": admin_name.upper()}).text)
    assert by_actor and set(by_actor) < set(everything)
    by_action = auditor.get("/ui/audit", params={"action": "user.create"}).text
    assert len(seqs(by_action)) == 3 and "wang.wu" in by_action
    by_subject = seqs(auditor.get("/ui/audit", params={"subject": "wang.wu"}).text)
    assert len(by_subject) == 1
    today = date.today()
    assert seqs(auditor.get("/ui/audit", params={"since": str(today - timedelta(days=1))}).text) == everything
    assert seqs(auditor.get("/ui/audit", params={"until": str(today - timedelta(days=2))}).text) == []
    assert auditor.get("/ui/audit", params={"since": "yesterday"}).status_code == 422
    # only auditors
    assert admin.get("/ui/audit").status_code == 403
    assert admin.get("/ui/audit/export.csv").status_code == 403


def test_a_record_opened_shows_who_when_what_why_and_its_place(app: FastAPI) -> None:
    auditor, _ = signed_in(app, "auditor")
    with app.state.budget_rules.db.transaction() as session:
        row = accounts.create_user(
            session, SECRET, accounts.CONSOLE, f"li.si{uuid.uuid4().hex[:4]}", "auditor", PASSWORD
        )
        accounts.change_role(session, SECRET, accounts.CONSOLE, row.name, "analyst")
    seq = seqs(auditor.get("/ui/audit", params={"action": "user.role_change", "subject": row.name}).text)[0]
    page = auditor.get(f"/ui/audit/records/{seq}")
    assert page.status_code == 200
    assert "更改角色" in page.text and "服务器命令行" in page.text  # the console, in words
    assert "分析人员" in page.text and "审计人员" in page.text  # the new and the former role, in words
    assert f'href="/ui/audit/records/{seq - 1}"' in page.text
    assert 'data-ok="true"' in page.text
    assert auditor.get("/ui/audit/records/999999").status_code == 404
    assert auditor.get("/ui/audit/records/abc").status_code == 404


def test_exports_carry_the_filtered_records(app: FastAPI) -> None:
    auditor, name = signed_in(app, "auditor")
    response = auditor.get("/ui/audit/export.csv", params={"actor": name})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    body = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "审计序号" and len(rows) == 2 and rows[1][2] == name
    from openpyxl import load_workbook

    xlsx = auditor.get("/ui/audit/export.xlsx", params={"action": "user.sign_in"})
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][4] == "操作" and all(v[4] == "登录" for v in values[1:]) and len(values) >= 2


def test_the_page_shows_where_the_chain_breaks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tampered.sqlite3'}"
    app = create_app(Settings(database_url=url, audit_secret=SECRET, environment="test"), warm=False)
    with TestClient(app):
        auditor, _ = signed_in(app, "auditor")
        _, _ = signed_in(app, "analyst")
        with app.state.budget_rules.db.engine.begin() as connection:
            connection.execute(text("UPDATE audit_records SET actor_name = 'someone-else' WHERE seq = 2"))
        page = auditor.get("/ui/audit")
        assert 'data-ok="false"' in page.text
        assert 'id="chain-break"' in page.text and 'href="/ui/audit/records/2"' in page.text
        assert '<tr data-seq="2" class="bad">' in page.text
        opened = auditor.get("/ui/audit/records/2")
        assert 'data-ok="false"' in opened.text and "已被改动" in opened.text
