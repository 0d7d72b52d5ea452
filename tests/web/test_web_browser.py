"""The web pages in a real browser against a real server (docs/web.md).

A module fixture starts ``budget-rules serve`` on a free 127.0.0.1 port with a temporary SQLite database
and creates one user per role with ``budget-rules user create --password-stdin`` (and an API token
belonging to each with ``budget-rules token create --user``); people sign in with the password form.
Debian's Chromium (Playwright with ``executable_path``, never a downloaded browser) walks every page.
Each page is checked for console errors and for requests leaving the server (every asset is local).
Screenshots of each page, at 1280×800 and one at 390 px wide, are written to docs/screenshots/.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo" / "wuding-county-2021.json"
SHOTS = REPO / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET = "web-test-audit-secret"
CLI = Path(sys.executable).with_name("budget-rules")  # the venv's console script

sync_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():  # pragma: no cover - the CI image has it
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PASSWORD = "browser test password"
USERS = {
    "compiler": "lin.compiler",
    "auditor": "zhao.auditor",
    "maintainer": "wang.maintainer",
    "approver": "chen.approver",
    "analyst": "li.analyst",
    "admin": "sun.admin",
}


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(CLI), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@dataclass
class Server:
    base: str
    tokens: dict[str, str]
    env: dict[str, str]

    def api(self, role: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.tokens[role]}"}, timeout=60)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("web")
    env = {
        **os.environ,
        "BUDGET_RULES_DATABASE_URL": f"sqlite:///{folder / 'budget-rules.sqlite3'}",
        "BUDGET_RULES_AUDIT_SECRET": SECRET,
        "BUDGET_RULES_ENVIRONMENT": "test",
    }
    tokens = {}
    for role, name in USERS.items():
        _cli(env, "user", "create", "--name", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
        tokens[role] = _cli(env, "token", "create", "--name", f"{name}.api", "--role", role, "--user", name)
    port = _free_port()
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, (folder / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        yield Server(base=base, tokens=tokens, env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    page: Any
    base: str
    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def check(self, allowed_statuses: tuple[int, ...] = ()) -> None:
        """No console errors (except the expected error statuses), nothing fetched from elsewhere."""
        unexpected = [e for e in self.errors if not any(f"status of {status}" in e for status in allowed_statuses)]
        assert unexpected == [], unexpected
        assert self.external == [], self.external
        assert self.failed == [], self.failed
        self.errors.clear()

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))


def open_page(browser: Any, server: Server, width: int = 1280, height: int = 800) -> Watched:
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    watched = Watched(page=page, base=server.base)
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(f"page error: {e}"))

    def on_request(request: Any) -> None:
        if not request.url.startswith(server.base) and not request.url.startswith(("data:", "blob:")):
            watched.external.append(request.url)

    page.on("request", on_request)
    page.on(
        "requestfailed",
        lambda r: watched.failed.append(f"{r.url} {r.failure}") if "ERR_ABORTED" not in (r.failure or "") else None,
    )
    return watched


def sign_in(w: Watched, role: str) -> None:
    w.page.goto(f"{w.base}/ui/")
    assert "/ui/login" in w.page.url
    w.page.fill("#username", USERS[role])
    w.page.fill("#password", PASSWORD)
    w.page.click("main button[type=submit]")
    w.page.wait_for_url(f"{w.base}/ui/")


def small_request(departments: int = 4) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEMO.read_text(encoding="utf-8"))
    data["departments"] = data["departments"][:departments]
    kept = {d["department_id"] for d in data["departments"]}
    data["projects"] = [p for p in data["projects"] if p["department_id"] in kept]
    return data


def csv_text(records: list[dict[str, Any]]) -> bytes:
    fields = list(dict.fromkeys(key for record in records for key in record))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def dataset_id(server: Server) -> str:
    """A small stored dataset (imported through the API, as a compiler)."""
    with server.api("compiler") as api:
        response = api.post("/v1/datasets", content=json.dumps(small_request(6), ensure_ascii=False).encode())
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


@pytest.fixture(scope="module")
def decision_id(server: Server, dataset_id: str) -> str:
    with server.api("compiler") as api:
        response = api.post("/v1/recommendations", json={"dataset_id": dataset_id, "envelope": "6000000.00"})
        assert response.status_code == 200, response.text
        return str(response.json()["decision_id"])


# ---------------------------------------------------------------------------------------------- tests


def test_sign_in_and_language(server: Server, browser: Any) -> None:
    w = open_page(browser, server)
    w.page.goto(f"{server.base}/")
    assert w.page.url.startswith(f"{server.base}/ui/login")
    assert "登录" in w.page.inner_text("h1")
    w.shot("01-sign-in")
    w.page.fill("#username", USERS["compiler"])
    w.page.fill("#password", "not the password")
    w.page.click("main button[type=submit]")
    assert "用户名或密码不正确" in w.page.inner_text("main")
    w.check(allowed_statuses=(401,))
    sign_in(w, "compiler")
    cookies = {c["name"]: c for c in w.page.context.cookies()}
    assert cookies["br_session"]["httpOnly"] and cookies["br_session"]["sameSite"] == "Strict"
    assert PASSWORD not in cookies["br_session"]["value"]
    assert all(token not in cookies["br_session"]["value"] for token in server.tokens.values())
    w.page.click("a.lang")
    assert "Welcome" in w.page.inner_text("h1")
    w.page.goto(f"{server.base}/ui/")  # the choice is remembered in a cookie
    assert "Welcome" in w.page.inner_text("h1")
    w.page.click("a.lang")
    assert "欢迎" in w.page.inner_text("h1")
    w.shot("02-home")
    w.check()
    w.page.context.close()


def test_compiler_recommends_from_csv_and_reads_the_result(server: Server, browser: Any, tmp_path: Path) -> None:
    w = open_page(browser, server)
    sign_in(w, "compiler")
    w.page.click("nav >> text=预算建议")
    request = small_request(5)
    (tmp_path / "departments.csv").write_bytes(b"\xef\xbb\xbf" + csv_text(request["departments"]))
    (tmp_path / "projects.csv").write_bytes(b"\xef\xbb\xbf" + csv_text(request["projects"]))
    w.page.set_input_files("#files", [str(tmp_path / "departments.csv"), str(tmp_path / "projects.csv")])
    w.page.fill("#fiscal_year", "2021")
    w.page.fill("#envelope", "4000000.00")
    w.shot("03-recommend")
    w.page.click("#run")
    w.page.wait_for_url("**/ui/decisions/*")
    table = w.page.locator("#result-table")
    lines = table.locator("tbody.line")
    total = lines.count()
    assert total == len(request["projects"])

    # expand a line: its explanations and citations
    first = lines.nth(0)
    first.locator("button.expand").click()
    assert first.locator("tr.explain").is_visible()
    assert "依据" in first.locator("tr.explain").inner_text()

    # filter by department, then by status
    w.page.select_option("#filter-department", "D002")
    visible = [lines.nth(i) for i in range(total) if lines.nth(i).is_visible()]
    assert visible and all(v.get_attribute("data-department") == "D002" for v in visible)
    assert w.page.inner_text("#shown-count") == str(len(visible))
    w.page.select_option("#filter-department", "")
    status = lines.nth(0).get_attribute("data-status")
    w.page.select_option("#filter-status", status)
    assert all(lines.nth(i).get_attribute("data-status") == status for i in range(total) if lines.nth(i).is_visible())
    w.page.select_option("#filter-status", "")

    # sort by recommended amount, descending (two clicks)
    sort = w.page.locator("button.sort[data-key=recommended]")
    sort.click()
    sort.click()
    amounts = [float(v) for v in table.locator("tbody.line").evaluate_all("ls => ls.map(l => l.dataset.recommended)")]
    assert amounts == sorted(amounts, reverse=True)
    w.page.evaluate("document.getElementById('result').scrollIntoView()")
    w.shot("04-result")

    # download the result as xlsx
    with w.page.expect_download() as info:
        w.page.click("#download-xlsx")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert {"lines", "explanations", "summary", "departments"} <= set(workbook.sheetnames)
    assert workbook["lines"].max_row == total + 1
    w.check()

    # readable at 390 px wide
    mobile = open_page(browser, server, width=390, height=844)
    sign_in(mobile, "compiler")
    mobile.page.goto(w.page.url)
    mobile.page.locator("tbody.line").nth(0).locator("button.expand").click()
    mobile.page.evaluate("document.getElementById('result-filters').scrollIntoView()")
    assert mobile.page.evaluate("document.documentElement.scrollWidth") <= 390
    mobile.shot("05-result-390px")
    mobile.check()
    mobile.page.context.close()
    w.page.context.close()


def test_roles_are_refused_pages_and_posts(server: Server, browser: Any, decision_id: str) -> None:
    w = open_page(browser, server)
    sign_in(w, "analyst")
    assert "预算建议" not in w.page.inner_text("nav")
    response = w.page.goto(f"{server.base}/ui/recommend")
    assert response is not None and response.status == 403
    response = w.page.goto(f"{server.base}/ui/decisions/{decision_id}")
    assert response is not None and response.status == 403
    w.check(allowed_statuses=(403,))
    w.page.context.close()


def test_auditor_lists_decisions_replays_and_verifies(server: Server, browser: Any, decision_id: str) -> None:
    w = open_page(browser, server)
    sign_in(w, "auditor")
    w.page.click("nav >> text=测算结果")
    assert w.page.locator("#decision-table tbody tr").count() >= 1
    w.page.fill("input[name=department]", "D006")
    w.page.click("#decision-filters button[type=submit]")
    assert "department=D006" in w.page.url
    assert w.page.locator(f'a[href="/ui/decisions/{decision_id}"]').count() == 1
    w.shot("06-decisions")
    w.page.click(f'a[href="/ui/decisions/{decision_id}"]')
    assert len(w.page.inner_text("#chain-hash").strip()) >= 32
    w.page.click("#replay")
    assert "完全一致" in w.page.inner_text("#replay-result")
    w.shot("07-decision-replayed")
    w.page.click("text=核验审计链")
    assert w.page.get_attribute("#chain-status", "data-ok") == "true"
    w.shot("08-audit-chain")
    w.check()
    w.page.context.close()


def _upload_revision(server: Server) -> str:
    """A maintainer uploads (and so proposes) a changed wuding-county revision through the API."""
    from service.lifecycle.revisions import read_folder

    files = read_folder(REPO, "wuding-county")
    name = "rulesets/wuding-county.yaml"
    old = 'fragment_below: "100000.00"'
    assert old in files[name]
    files[name] = files[name].replace(old, 'fragment_below: "120000.00"')
    with server.api("maintainer") as api:
        response = api.post(
            "/v1/rulesets/wuding-county/revisions",
            json={"files": files, "reason": "raise the fragment threshold"},
        )
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "proposed"
    return str(response.json()["revision"])


def test_maker_checker_approval_through_the_pages(server: Server, browser: Any, dataset_id: str) -> None:
    revision = _upload_revision(server)
    page_url = f"{server.base}/ui/rulesets/wuding-county/revisions/{revision}"

    # the proposer (maintainer) sees no approve button, and a forged approval is refused
    maker = open_page(browser, server)
    sign_in(maker, "maintainer")
    maker.page.click("nav >> text=规则集")
    maker.shot("09-rulesets")
    maker.page.click("text=wuding-county")
    assert maker.page.locator(f'tr[data-revision="{revision}"]').get_attribute("data-state") == "proposed"
    maker.shot("10-revisions")
    maker.page.goto(page_url)
    assert maker.page.locator("#do-approve").count() == 0
    assert maker.page.locator("#no-actions").is_visible()
    csrf = maker.page.get_attribute("input[name=csrf]", "value")
    forged = maker.page.request.post(f"{page_url}/approve", form={"csrf": csrf or "", "reason": "my own"})
    assert forged.status == 403
    maker.check()

    # a different person (approver) reads the diff, previews the impact, approves and activates
    checker = open_page(browser, server)
    sign_in(checker, "approver")
    checker.page.goto(page_url)
    assert "计入碎片化" in checker.page.inner_text("#diff-lines")  # the parameter, by its description
    checker.page.fill("#impact-dataset", dataset_id)
    checker.page.click("#run-impact")
    assert checker.page.locator("#impact-result").is_visible()
    checker.page.fill("#reason-approve", "checked the diff and the impact")
    checker.page.click("#do-approve")
    checker.page.wait_for_url("**?done=approve")
    assert checker.page.get_attribute("#revision-state", "data-state") == "approved"
    checker.page.fill("#reason-activate", "FY2021 rules")
    checker.shot("11-revision-approved")
    checker.page.click("#do-activate")
    checker.page.wait_for_url("**?done=activate")
    assert checker.page.get_attribute("#revision-state", "data-state") == "active"
    checker.check()

    # approving again is refused (it is active now), with the error page
    csrf = checker.page.get_attribute("input[name=csrf]", "value")
    again = checker.page.request.post(f"{page_url}/approve", form={"csrf": csrf or "", "reason": "again"})
    assert again.status == 409
    # a POST without the CSRF token is refused
    missing = checker.page.request.post(f"{page_url}/retire", form={"reason": "no csrf"})
    assert missing.status == 403

    with server.api("approver") as api:
        listed = api.get("/v1/rulesets").json()["items"]
    active = next(r for r in listed if r["id"] == "wuding-county")["active"]
    assert [a["revision"] for a in active] == [revision]
    maker.page.context.close()
    checker.page.context.close()


def test_analyst_runs_a_simulation_and_opens_its_report(server: Server, browser: Any, dataset_id: str) -> None:
    w = open_page(browser, server)
    sign_in(w, "analyst")
    w.page.click("nav >> text=模拟")
    w.page.select_option("#scenario", "what-if")
    w.page.select_option("#sim-dataset", dataset_id)
    w.shot("12-simulations")
    w.page.click("#start")
    w.page.wait_for_url("**/ui/simulations/*")
    w.page.wait_for_selector("#job[data-state=succeeded]", timeout=90_000)
    w.shot("13-simulation")
    w.page.click("#open-report")
    w.page.wait_for_load_state()
    assert "what-if" in w.page.content() or "政策情景" in w.page.content()
    w.shot("14-simulation-report")
    w.check()
    w.page.context.close()


# ------------------------------------------------------------------ every role's pages: words and accessibility

AXE = REPO / "tests" / "web" / "node_modules" / "axe-core" / "axe.min.js"
# Codes a person must never read in Chinese mode (GLOSSARY.md gives each its words).
CODES = [
    "funded",
    "reduced",
    "excluded",
    "cancelled",
    "applied",
    "superseded",
    "waived",
    "compiler",
    "analyst",
    "maintainer",
    "approver",
    "auditor",
    "admin",
    "draft",
    "proposed",
    "approved",
    "active",
    "retired",
    "queued",
    "running",
    "succeeded",
    "failed",
    "project",
    "public_operating",
    "three_public",
    "improvement-required",
    "priority",
    "department-tilt",
    "possible-duplicate",
    "fragmented",
    "no-baseline",
    "no-department-score",
    "no-target-review",
    "protected-review",
    "performance_share",
    "project_lines",
    "evaluation_score",
    "None",
    "null",
    "true",
    "false",
]
CODE_PATTERN = re.compile(
    r"(?<![\w.@-])(" + "|".join(re.escape(c) for c in CODES) + r")(?![\w@-])"  # whole codes, not inside names
    r"|\b[a-z]+_[a-z_]+\b"  # any snake_case field name
)
# Identifiers stay as they are (GLOSSARY.md): names of people and tokens, ruleset and scenario ids, versions.
IDENTIFIERS = re.compile(
    r"[\w.]+\.(compiler|auditor|maintainer|approver|analyst|admin)(\.api)?"
    r"|wuding-county|budget-rules|durable-rules|what-if|[0-9a-f]{8}-[0-9a-f-]{27}|\b[0-9a-f]{12,64}\b"
)


def leaked_codes(text: str) -> list[str]:
    scrubbed = IDENTIFIERS.sub(" ", text)
    for scenario in (REPO / "simulations").glob("*.yaml"):
        scrubbed = scrubbed.replace(scenario.stem, " ")
    return sorted({m.group(0) for m in CODE_PATTERN.finditer(scrubbed)})


def axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result
        if v.get("impact") in ("serious", "critical")
    ]


def walk(w: Watched, path: str, shot: str | None = None, allowed: tuple[int, ...] = ()) -> str:
    response = w.page.goto(f"{w.base}{path}")
    assert response is not None and (response.status == 200 or response.status in allowed), (path, response.status)
    for button in w.page.locator("button.expand").all()[:3]:  # what an expanded line says, too
        button.click()
    text = str(w.page.inner_text("body"))
    assert leaked_codes(text) == [], (path, leaked_codes(text))
    assert axe_violations(w.page) == [], path
    if shot:
        w.shot(shot)
    return text


def test_every_role_reads_its_pages_in_chinese_and_they_pass_axe(
    server: Server, browser: Any, decision_id: str
) -> None:
    assert AXE.exists(), "run `npm ci` in tests/web (python3 dev.py test does)"
    revision = next(iter(_revisions(server)))
    pages = {
        "compiler": ["/ui/", "/ui/recommend", "/ui/decisions", f"/ui/decisions/{decision_id}", "/ui/rulesets"],
        "auditor": ["/ui/", "/ui/decisions", f"/ui/decisions/{decision_id}", "/ui/audit", "/ui/simulations"],
        "maintainer": ["/ui/", "/ui/rulesets", "/ui/rulesets/wuding-county", revision],
        "approver": ["/ui/", "/ui/rulesets", revision],
        "analyst": ["/ui/", "/ui/simulations", "/ui/rulesets", revision],
        "admin": ["/ui/", "/ui/admin"],
    }
    signed_out = open_page(browser, server)
    walk(signed_out, "/ui/login")
    signed_out.page.context.close()
    for role, paths in pages.items():
        w = open_page(browser, server)
        sign_in(w, role)
        for path in paths:
            walk(w, path, shot={"/ui/admin": "15-admin-users"}.get(path))
        if role == "auditor":
            text = walk(w, "/ui/audit", shot="16-audit-records")
            assert USERS["compiler"] in text and USERS["auditor"] in text  # records name their actors
            w.page.click("#audit-table tbody tr:first-child a")
            walk(w, w.page.url.removeprefix(server.base), shot="17-audit-record")
            walk(w, f"/ui/decisions/{decision_id}")
            w.page.evaluate("document.getElementById('totals-by-department').scrollIntoView()")
            w.shot("18-result-totals")
        walk(w, "/ui/no-such-page", allowed=(404,))
        if role != "admin":
            walk(w, "/ui/admin", allowed=(403,))
        w.check(allowed_statuses=(403, 404))
        w.page.context.close()


def _revisions(server: Server) -> list[str]:
    with server.api("auditor") as api:
        items = api.get("/v1/rulesets/wuding-county/revisions").json()["items"]
    return [f"/ui/rulesets/wuding-county/revisions/{r['revision']}" for r in items]


def test_lockout_in_the_browser(server: Server, browser: Any) -> None:
    name = "zhou.locked"
    _cli(server.env, "user", "create", "--name", name, "--role", "auditor", "--password-stdin", stdin=PASSWORD)
    w = open_page(browser, server)
    w.page.goto(f"{server.base}/ui/login")
    for _ in range(10):
        w.page.fill("#username", name)
        w.page.fill("#password", "a wrong password")
        w.page.click("main button[type=submit]")
        assert w.page.locator("#sign-in-failed").is_visible()
    w.page.fill("#username", name)
    w.page.fill("#password", PASSWORD)
    w.page.click("main button[type=submit]")
    message = w.page.inner_text("#sign-in-failed")
    assert "锁定" in message and "/ui/login" in w.page.url  # locked: the right password is refused
    w.page.fill("#username", "no.such.person")
    w.page.fill("#password", PASSWORD)
    w.page.click("main button[type=submit]")
    assert w.page.inner_text("#sign-in-failed") == message  # the same words whether or not the name exists
    w.shot("19-sign-in-locked")
    w.check(allowed_statuses=(401,))
    w.page.context.close()
