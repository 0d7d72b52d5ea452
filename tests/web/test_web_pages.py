"""The web pages without a browser: sign-in, roles (hidden buttons AND refused POSTs), CSRF, language,
error pages, the ruleset life cycle and a rollback through the forms. The app is the API's own
(``create_app``) on a temporary SQLite database; the browser walk is in test_web_browser.py.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.app import accounts, roles
from service.app.roles import ROLES
from tests.web.signin import PASSWORD, browser, csrf_of, new_token, new_user

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo" / "wuding-county-2021.json"
SECRET = "web-pages-test-secret"


@pytest.fixture(scope="module")
def users(app: FastAPI, started: TestClient) -> dict[str, str]:
    return {role: new_user(app, role) for role in ROLES}


@pytest.fixture(scope="module")
def tokens(app: FastAPI, users: dict[str, str]) -> dict[str, str]:
    return {role: new_token(app, users[role], role) for role in ROLES}


def small_request(departments: int = 3) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEMO.read_text(encoding="utf-8"))
    data["departments"] = data["departments"][:departments]
    kept = {d["department_id"] for d in data["departments"]}
    data["projects"] = [p for p in data["projects"] if p["department_id"] in kept]
    data["envelope"] = "3000000.00"
    return data


@pytest.fixture(scope="module")
def decision_id(app: FastAPI, users: dict[str, str]) -> str:
    """A recommendation made through the recommend page (a JSON upload)."""
    client = browser(app, users["compiler"])
    page = client.get("/ui/recommend")
    assert page.status_code == 200
    upload = ("request.json", json.dumps(small_request(), ensure_ascii=False).encode(), "application/json")
    response = client.post("/ui/recommend", data={"csrf": csrf_of(page.text)}, files=[("files", upload)])
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/ui/decisions/")
    return location.rsplit("/", 1)[1]


def test_root_redirects_and_pages_need_sign_in(app: FastAPI, started: TestClient) -> None:
    client = browser(app)
    assert client.get("/").headers["location"] == "/ui/"
    response = client.get("/ui/decisions")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Fdecisions"
    assert client.get("/ui/login").status_code == 200
    assert client.get("/ui/static/app.css").status_code == 200
    assert client.get("/ui/static/app.js").status_code == 200


def test_sign_in_sets_a_strict_http_only_cookie(app: FastAPI, users: dict[str, str]) -> None:
    client = browser(app)
    csrf = csrf_of(client.get("/ui/login").text)
    refused = client.post("/ui/login", data={"username": users["auditor"], "password": "wrong!", "csrf": csrf})
    assert refused.status_code == 401
    assert "br_session" not in refused.headers.get("set-cookie", "")
    data = {"username": users["auditor"], "password": PASSWORD, "csrf": csrf, "next": "https://evil.example/"}
    response = client.post("/ui/login", data=data)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/"  # only local targets
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("br_session="))
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert PASSWORD not in cookie
    assert client.get("/ui/").status_code == 200


def test_a_disabled_user_is_signed_out(app: FastAPI, started: TestClient) -> None:
    name = new_user(app, "auditor")
    client = browser(app, name)
    assert client.get("/ui/audit").status_code == 200
    with app.state.budget_rules.db.transaction() as session:
        accounts.set_disabled(session, SECRET, accounts.CONSOLE, name)
    assert client.get("/ui/audit").status_code == 303


# Each page names its capability in the one declaration (service/app/roles.py), as the API does.
PAGES = {
    "/ui/recommend": set(roles.COMPILERS),
    "/ui/decisions": set(roles.DECISION_READERS),
    "/ui/audit": set(roles.AUDITORS),
    "/ui/rulesets": set(roles.RULESET_READERS),
    "/ui/rulesets/wuding-county": set(roles.RULESET_READERS),
    "/ui/simulations": set(roles.SIMULATION_READERS),
    "/ui/drafts": set(roles.DRAFT_READERS),
}


@pytest.mark.parametrize("role", ROLES)
def test_every_page_admits_the_api_roles_only(app: FastAPI, users: dict[str, str], decision_id: str, role: str) -> None:
    client = browser(app, users[role])
    home = client.get("/ui/")
    assert home.status_code == 200
    pages = {**PAGES, f"/ui/decisions/{decision_id}": set(roles.DECISION_READERS)}
    for path, allowed in pages.items():
        response = client.get(path)
        assert response.status_code == (200 if role in allowed else 403), (path, role)
        if role not in allowed:
            assert 'id="error-message"' in response.text
        else:
            html = response.text
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
            assert not re.search(r'(src|href)="(https?:)?//', html), "external asset"
        # the menu shows only what the role may open
        if path in ("/ui/recommend", "/ui/audit", "/ui/simulations", "/ui/drafts"):
            assert (f'href="{path}"' in home.text) == (role in allowed), (path, role)


def test_result_page_download_and_replay(app: FastAPI, users: dict[str, str], decision_id: str) -> None:
    compiler = browser(app, users["compiler"])
    page = compiler.get(f"/ui/decisions/{decision_id}")
    assert page.text.count('<tbody class="line"') == len(small_request()["projects"])
    assert 'id="replay"' not in page.text  # replay is for auditors
    refused = compiler.post(f"/ui/decisions/{decision_id}/replay", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 403
    download = compiler.get(f"/ui/decisions/{decision_id}/result.xlsx")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert download.content[:2] == b"PK"

    auditor = browser(app, users["auditor"])
    page = auditor.get(f"/ui/decisions/{decision_id}")
    assert 'id="replay"' in page.text
    assert auditor.post(f"/ui/decisions/{decision_id}/replay", data={}).status_code == 403  # no CSRF token
    assert auditor.post(f"/ui/decisions/{decision_id}/replay", data={"csrf": "0" * 64}).status_code == 403
    replayed = auditor.post(f"/ui/decisions/{decision_id}/replay", data={"csrf": csrf_of(page.text)})
    assert replayed.status_code == 200
    assert 'id="replay-result"' in replayed.text and "alert good" in replayed.text
    audit = auditor.get("/ui/audit")
    assert 'data-ok="true"' in audit.text


def test_language_switch_is_remembered(app: FastAPI, users: dict[str, str]) -> None:
    client = browser(app, users["compiler"])
    assert "预算建议" in client.get("/ui/").text
    english = client.get("/ui/?lang=en")
    assert "Recommend" in english.text and "br_lang=en" in english.headers["set-cookie"]
    assert "Welcome" in client.get("/ui/decisions").text or "Decisions" in client.get("/ui/decisions").text
    assert "Decisions &amp; audit" in client.get("/ui/").text
    assert "欢迎" in client.get("/ui/?lang=zh").text


def test_a_bad_upload_shows_every_problem(app: FastAPI, users: dict[str, str]) -> None:
    client = browser(app, users["compiler"])
    csrf = csrf_of(client.get("/ui/recommend").text)
    files = [
        ("files", ("departments.csv", b"department_id,name\nD001,\n", "text/csv")),
        ("files", ("projects.csv", b"project_id,department_id\n", "text/csv")),
    ]
    response = client.post("/ui/recommend", data={"csrf": csrf}, files=files)  # no fiscal year for CSV
    assert response.status_code == 422
    assert "fiscal" in response.text.lower()
    nothing = client.post("/ui/recommend", data={"csrf": csrf})
    assert nothing.status_code == 422


def _upload(app: FastAPI, maintainer: str, threshold: str) -> str:
    from service.lifecycle.revisions import read_folder

    files = read_folder(REPO, "wuding-county")
    name = "rulesets/wuding-county.yaml"
    files[name] = files[name].replace('fragment_below: "100000.00"', f'fragment_below: "{threshold}"')
    with TestClient(app) as api:
        response = api.post(
            "/v1/rulesets/wuding-county/revisions",
            json={"files": files, "reason": "web test"},
            headers={"Authorization": f"Bearer {maintainer}"},
        )
    assert response.status_code == 201, response.text
    return str(response.json()["revision"])


def _step(client: TestClient, revision: str, action: str, **form: str) -> Any:
    path = f"/ui/rulesets/wuding-county/revisions/{revision}"
    csrf = csrf_of(client.get(path).text)
    return client.post(f"{path}/{action}", data={"csrf": csrf, "reason": f"web {action}", **form})


def test_maker_checker_and_rollback_through_the_forms(app: FastAPI, users: dict[str, str]) -> None:
    engines = app.state.budget_rules.engines
    shipped = next(a.revision for a in engines.active_revisions("wuding-county"))
    maker_name = new_user(app, "maintainer", f"Maker-{uuid.uuid4().hex[:6]}")
    revision = _upload(app, new_token(app, maker_name, "maintainer"), "110000.00")
    path = f"/ui/rulesets/wuding-county/revisions/{revision}"

    maintainer = browser(app, maker_name)
    page = maintainer.get(path)
    assert 'id="do-approve"' not in page.text and 'id="no-actions"' in page.text
    assert _step(maintainer, revision, "approve").status_code == 403  # role refused, button or not

    # the same person made an approver (another admin changed the role) is refused by the maker-checker rule
    with app.state.budget_rules.db.transaction() as session:
        accounts.change_role(session, SECRET, accounts.CONSOLE, maker_name, "approver")
    same = browser(app, maker_name.upper())
    refused = _step(same, revision, "approve")
    assert refused.status_code == 409 and maker_name in refused.text

    approver = browser(app, users["approver"])
    page = approver.get(path)
    assert 'id="do-approve"' in page.text and "fragment_below" in page.text  # the button and the diff
    assert _step(approver, revision, "approve", reason="").status_code == 422  # a reason is required
    assert _step(approver, revision, "approve").headers["location"].endswith("?done=approve")
    activated = _step(approver, revision, "activate", replaces=shipped)
    assert activated.status_code == 303
    assert [a.revision for a in engines.active_revisions("wuding-county")] == [revision]

    # rollback: a maintainer proposes the retired shipped revision again, an approver approves and activates
    other = browser(app, users["maintainer"])
    assert _step(other, shipped, "propose").status_code == 303
    assert _step(approver, shipped, "approve").status_code == 303
    assert _step(approver, shipped, "activate", replaces=revision).status_code == 303
    assert [a.revision for a in engines.active_revisions("wuding-county")] == [shipped]
    listing = approver.get("/ui/rulesets/wuding-county").text
    assert f'data-revision="{revision}" data-state="retired"' in listing


def test_impact_preview_and_simulation_pages(app: FastAPI, users: dict[str, str], tokens: dict[str, str]) -> None:
    with TestClient(app) as api:
        created = api.post(
            "/v1/datasets",
            content=json.dumps(small_request(), ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {tokens['compiler']}"},
        )
    dataset = created.json()["id"]
    revision = _upload(app, tokens["maintainer"], "130000.00")
    analyst = browser(app, users["analyst"])
    path = f"/ui/rulesets/wuding-county/revisions/{revision}"
    page = analyst.get(path)
    assert f'value="{dataset}"' in page.text  # analysts pick a stored dataset
    preview = analyst.post(f"{path}/impact", data={"csrf": csrf_of(page.text), "dataset_id": dataset})
    assert preview.status_code == 200 and 'id="impact-result"' in preview.text
    sims = analyst.get("/ui/simulations")
    assert 'id="start-form"' in sims.text and 'value="what-if"' in sims.text
    auditor = browser(app, users["auditor"])
    assert 'id="start-form"' not in auditor.get("/ui/simulations").text
    csrf = csrf_of(auditor.get("/ui/simulations").text)
    assert auditor.post("/ui/simulations", data={"csrf": csrf, "scenario": "what-if"}).status_code == 403
    missing = analyst.get(f"/ui/simulations/{uuid.uuid4()}")
    assert missing.status_code == 404


def test_runs_are_listed_by_file_date_who_and_totals_and_filtered_by_department_name(
    app: FastAPI, users: dict[str, str], decision_id: str
) -> None:
    client = browser(app, users["auditor"])
    department = small_request()["departments"][1]
    listing = client.get("/ui/decisions")
    assert listing.status_code == 200
    row = re.search(rf'<tr><td><a href="/ui/decisions/{decision_id}">([^<]*)</a>(.*?)</tr>', listing.text, re.S)
    assert row, "the run is not listed"
    assert row.group(1) == "request.json"  # by its file, not by a hash
    assert users["compiler"] in row.group(2) and "年" in row.group(2)  # who, and when in Beijing time
    assert decision_id[:8] not in re.sub(r'href="[^"]*"', "", row.group(0))
    by_name = client.get("/ui/decisions", params={"department": department["name"]})
    assert f'href="/ui/decisions/{decision_id}"' in by_name.text
    by_part = client.get("/ui/decisions", params={"department": department["name"][1:4]})
    assert by_part.status_code == 200
    nothing = client.get("/ui/decisions", params={"department": "没有这个部门"})
    assert f'href="/ui/decisions/{decision_id}"' not in nothing.text
