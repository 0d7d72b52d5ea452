"""Downloads on the pages: a draft's workbook and 编制说明 (the draft page), a recommendation's
(the result/decision page), the import template (home and recommend pages).

The app is the API's own on a temporary SQLite database; people sign in with the sign-in form as users
made through :mod:`service.app.accounts`; the files are opened (openpyxl) and read (pdftotext).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook  # type: ignore[import-untyped]

from service.app import accounts, roles
from service.app.tokens import create_token

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo" / "wuding-county-2021.json"
SECRET = "downloads-pages-secret"
PASSWORD = "downloads pages password"


@pytest.fixture(scope="module")
def users(app: FastAPI, started: TestClient) -> dict[str, str]:
    out = {}
    with app.state.budget_rules.db.transaction() as session:
        for role in roles.ROLES:
            out[role] = f"{role}-{uuid.uuid4().hex[:6]}"
            accounts.create_user(session, SECRET, accounts.CONSOLE, out[role], role, PASSWORD)
    return out


def signed_in(app: FastAPI, user: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    page = client.get("/ui/login").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf
    response = client.post(
        "/ui/login", data={"username": user, "password": PASSWORD, "next": "/ui/", "csrf": csrf.group(1)}
    )
    assert response.status_code == 303, response.text
    return client


def api(app: FastAPI, user: str, role: str) -> dict[str, str]:
    with app.state.budget_rules.db.transaction() as session:
        token = create_token(session, f"{user}-api-{uuid.uuid4().hex[:4]}", role, secret=SECRET, user=user)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def made(app: FastAPI, started: TestClient, users: dict[str, str]) -> dict[str, Any]:
    """A recorded recommendation and a draft of it with one adjustment (over the API, as its users)."""
    data: dict[str, Any] = json.loads(DEMO.read_text(encoding="utf-8"))
    data["departments"] = data["departments"][:2]
    kept = {d["department_id"] for d in data["departments"]}
    data["projects"] = [p for p in data["projects"] if p["department_id"] in kept]
    data["envelope"] = "3000000.00"
    compiler = api(app, users["compiler"], "compiler")
    decision = started.post("/v1/recommendations", json=data, headers=compiler).json()
    line = next(ln for ln in decision["lines"] if Decimal(ln["recommended"]) > 100)
    draft = started.post(
        "/v1/drafts", json={"decision_id": decision["decision_id"], "name": "页面下载测试稿"}, headers=compiler
    ).json()
    final = Decimal(line["recommended"]) - Decimal("99.99")
    adjusted = started.put(
        f"/v1/drafts/{draft['draft_id']}/lines/{line['project_id']}",
        json={"amount": f"{final:.2f}", "reason": "按审定数压减"},
        headers=compiler,
    )
    assert adjusted.status_code == 200, adjusted.text
    return {"decision_id": decision["decision_id"], "draft_id": draft["draft_id"], "line": line, "final": final}


def test_the_draft_page_offers_both_downloads_and_they_hold_the_deviations(
    app: FastAPI, users: dict[str, str], made: dict[str, Any]
) -> None:
    client = signed_in(app, users["auditor"])
    page = client.get(f"/ui/drafts/{made['draft_id']}")
    assert page.status_code == 200
    assert 'id="download-xlsx"' in page.text and "下载编制方案（Excel）" in page.text
    assert f'formaction="/ui/drafts/{made["draft_id"]}/budget.pdf"' in page.text and "下载编制说明（PDF）" in page.text

    response = client.get(f"/ui/drafts/{made['draft_id']}/export.xlsx", params={"unit": "元"})
    assert response.status_code == 200, response.text
    assert "页面下载测试稿" in unquote(response.headers["content-disposition"])
    sheet = load_workbook(io.BytesIO(response.content))["偏离建议"]
    row = [cell.value for cell in sheet[2]]
    pid, recommended = made["line"]["project_id"], Decimal(made["line"]["recommended"])
    assert row[0] == pid and row[7] == "按审定数压减"
    assert Decimal(str(row[4])) == recommended and Decimal(str(row[5])) == made["final"]
    assert Decimal(str(row[6])).quantize(Decimal("0.01")) == Decimal("-99.99")

    pdf = client.get(f"/ui/drafts/{made['draft_id']}/budget.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout
        flat = "".join(text.decode("utf-8").split())
        assert "六、偏离建议情况" in flat and pid in flat and "-99.99" in flat and "尚未定稿" in flat


def test_draft_downloads_check_the_role_first(app: FastAPI, users: dict[str, str], made: dict[str, Any]) -> None:
    for role in roles.ROLES:
        client = signed_in(app, users[role])
        for path in ("export.xlsx", "budget.pdf"):
            known = client.get(f"/ui/drafts/{made['draft_id']}/{path}")
            unknown = client.get(f"/ui/drafts/{uuid.uuid4()}/{path}")
            if role in roles.DRAFT_READERS:
                assert known.status_code == 200, (role, path)
                assert unknown.status_code == 404, (role, path)
            else:  # refused before the draft is looked up: the same answer for a draft that does not exist
                assert known.status_code == unknown.status_code == 403, (role, path)
    anonymous = TestClient(app, follow_redirects=False).get(f"/ui/drafts/{made['draft_id']}/export.xlsx")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/ui/login")
    bad_unit = signed_in(app, users["compiler"]).get(f"/ui/drafts/{made['draft_id']}/export.xlsx?unit=千元")
    assert bad_unit.status_code == 404


def test_the_decision_page_offers_the_workbook_and_the_budget_document(
    app: FastAPI, users: dict[str, str], made: dict[str, Any]
) -> None:
    client = signed_in(app, users["compiler"])
    page = client.get(f"/ui/decisions/{made['decision_id']}")
    assert page.status_code == 200
    assert "下载测算结果（Excel）" in page.text and "下载编制说明（PDF）" in page.text
    assert f'action="/ui/decisions/{made["decision_id"]}/export.xlsx"' in page.text
    assert f'formaction="/ui/decisions/{made["decision_id"]}/budget.pdf"' in page.text
    xlsx = client.get(f"/ui/decisions/{made['decision_id']}/export.xlsx", params={"unit": "万元"})
    assert xlsx.status_code == 200
    assert "汇总" in load_workbook(io.BytesIO(xlsx.content)).sheetnames
    pdf = client.get(f"/ui/decisions/{made['decision_id']}/budget.pdf", params={"unit": "元"})
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"


def test_home_and_recommend_pages_link_the_import_template(app: FastAPI, users: dict[str, str]) -> None:
    compiler = signed_in(app, users["compiler"])
    for path in ("/ui/", "/ui/recommend"):
        page = compiler.get(path)
        assert page.status_code == 200
        assert 'href="/ui/template.xlsx"' in page.text and "下载申报模板" in page.text, path
    template = compiler.get("/ui/template.xlsx")
    assert template.status_code == 200
    assert {"部门", "项目"} <= set(load_workbook(io.BytesIO(template.content)).sheetnames)
    auditor_home = signed_in(app, users["auditor"]).get("/ui/")
    assert "下载申报模板" not in auditor_home.text  # only offered to those who may download it
