"""The budget draft pages (/ui/drafts) without a browser: from a recorded recommendation to 定稿 through
the forms, with every refusal shown as a page (missing reason, negative amount, over the envelope, the
same person approving, a final draft) and the roles and CSRF checks of every POST."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.signin import browser, change_role, csrf_of, new_token, new_user

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo" / "wuding-county-2021.json"
SECRET = "web-drafts-test-secret"


@pytest.fixture(scope="module")
def decision(app: FastAPI, started: TestClient) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEMO.read_text(encoding="utf-8"))
    data["departments"] = data["departments"][:3]
    kept = {d["department_id"] for d in data["departments"]}
    data["projects"] = [p for p in data["projects"] if p["department_id"] in kept]
    data["envelope"] = "3000000.00"
    compiler = new_token(app, new_user(app, "compiler"), "compiler")
    response = started.post("/v1/recommendations", json=data, headers={"Authorization": f"Bearer {compiler}"})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _new_draft(client: TestClient, decision_id: str) -> str:
    page = client.get("/ui/drafts")
    assert page.status_code == 200 and "新建编制方案" in page.text
    made = client.post(
        "/ui/drafts", data={"csrf": csrf_of(page.text), "decision_id": decision_id, "name": "2021年年初预算 第一稿"}
    )
    assert made.status_code == 303, made.text
    return str(made.headers["location"]).rsplit("/", 1)[1]


def test_draft_to_final_through_the_pages(app: FastAPI, started: TestClient, decision: dict[str, Any]) -> None:
    person = f"Chen.Jing-{uuid.uuid4().hex[:6]}"
    compiler = browser(app, new_user(app, "compiler", person))
    draft_id = _new_draft(compiler, decision["decision_id"])
    page = compiler.get(f"/ui/drafts/{draft_id}")
    assert page.status_code == 200 and "编制中" in page.text and "定稿数合计" in page.text
    csrf = csrf_of(page.text)
    line = decision["lines"][0]
    url = f"/ui/drafts/{draft_id}/lines"

    no_reason = compiler.post(
        url, data={"csrf": csrf, "project_id": line["project_id"], "amount": "1.00", "reason": ""}
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    negative = compiler.post(url, data={"csrf": csrf, "project_id": line["project_id"], "amount": "-1", "reason": "r"})
    assert negative.status_code == 422 and line["project_id"] in negative.text
    forged = compiler.post(url, data={"csrf": "0" * 64, "project_id": line["project_id"], "amount": "1", "reason": "r"})
    assert forged.status_code == 403

    over = Decimal(line["recommended"]) + Decimal(decision["envelope"])  # certainly over the envelope
    saved = compiler.post(
        url, data={"csrf": csrf, "project_id": line["project_id"], "amount": f"{over:.2f}", "reason": "试算"}
    )
    assert saved.status_code == 303
    refused = compiler.post(f"/ui/drafts/{draft_id}/submit", data={"csrf": csrf})
    assert refused.status_code == 409 and "超出财力可安排数" in refused.text and "不能提交审核" in refused.text

    fine = Decimal(line["recommended"]) - Decimal("100.00")
    compiler.post(
        url, data={"csrf": csrf, "project_id": line["project_id"], "amount": f"{fine:,.2f}", "reason": "压减100元"}
    )
    page = compiler.get(f"/ui/drafts/{draft_id}")
    assert "偏离建议清单" in page.text and "压减100元" in page.text and "-100.00" in page.text
    assert compiler.post(f"/ui/drafts/{draft_id}/submit", data={"csrf": csrf}).status_code == 303

    # the same person, now an approver (signing in with the name in other case): still refused
    change_role(app, person, "approver")
    same = browser(app, person.swapcase())
    shown = same.get(f"/ui/drafts/{draft_id}")
    assert 'id="do-approve"' in shown.text  # the form is there; the person rule is checked on POST
    refused = same.post(f"/ui/drafts/{draft_id}/approve", data={"csrf": csrf_of(shown.text)})
    assert refused.status_code == 403 and "审核人员不能审核自己" in refused.text
    change_role(app, person, "compiler")

    approver = browser(app, new_user(app, "approver"))
    assert compiler.post(f"/ui/drafts/{draft_id}/approve", data={"csrf": csrf}).status_code == 403  # role
    approver_csrf = csrf_of(approver.get(f"/ui/drafts/{draft_id}").text)
    done = approver.post(f"/ui/drafts/{draft_id}/approve", data={"csrf": approver_csrf, "comment": "同意"})
    assert done.status_code == 303
    final = compiler.get(f"/ui/drafts/{draft_id}")
    assert 'data-state="final"' in final.text and "adjust-form" not in final.text and 'id="do-version"' in final.text
    assert "可由审计链复核重算" in final.text
    late = compiler.post(url, data={"csrf": csrf, "project_id": line["project_id"], "amount": "1.00", "reason": "r"})
    assert late.status_code == 409 and "定稿" in late.text

    version = compiler.post(f"/ui/drafts/{draft_id}/version", data={"csrf": csrf, "name": "第二稿"})
    assert version.status_code == 303
    new_id = str(version.headers["location"]).rsplit("/", 1)[1]
    assert new_id != draft_id and "压减100元" in compiler.get(f"/ui/drafts/{new_id}").text
    compared = compiler.get("/ui/drafts/compare", params={"a": draft_id, "b": new_id})
    assert compared.status_code == 200 and "两者一致" in compared.text


def test_roles_and_language(app: FastAPI, started: TestClient, decision: dict[str, Any]) -> None:
    analyst = browser(app, new_user(app, "analyst"))
    assert analyst.get("/ui/drafts").status_code == 403
    auditor = browser(app, new_user(app, "auditor"))
    listing = auditor.get("/ui/drafts")
    assert listing.status_code == 200 and "新建编制方案" not in listing.text
    assert (
        auditor.post("/ui/drafts", data={"csrf": csrf_of(listing.text), "decision_id": "x", "name": "n"}).status_code
        == 403
    )
    english = auditor.get("/ui/drafts", params={"lang": "en"})
    assert "Budget drafts" in english.text
    anonymous = TestClient(app, follow_redirects=False).get("/ui/drafts")
    assert anonymous.status_code == 303 and "/ui/login" in anonymous.headers["location"]
    compiler = browser(app, new_user(app, "compiler"))
    assert compiler.get(f"/ui/drafts/{uuid.uuid4()}").status_code == 404
    assert compiler.get("/ui/drafts/not-an-id").status_code == 404
