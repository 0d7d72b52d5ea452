"""The budget draft pages in a real browser against a real server: a recommendation to 定稿 by clicking.

Reuses the server, browser and page helpers of test_web_browser.py (``budget-rules serve`` on a free
port, Debian's Chromium through Playwright, no request leaving the server, no console error). The
screenshots docs/screenshots/15-draft-editing.png, 16-draft-final.png and 17-draft-390px.png are
written from this walk.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from tests.web.test_web_browser import Server, leaked_codes, open_page, sign_in, small_request


def test_recommendation_to_final_by_clicking(server: Server, browser: Any) -> None:
    request = small_request(4)
    request["envelope"] = "5000000.00"
    with server.api("compiler") as api:
        response = api.post("/v1/recommendations", content=json.dumps(request, ensure_ascii=False).encode())
        assert response.status_code == 200, response.text
        decision = response.json()
    line = next(ln for ln in decision["lines"] if Decimal(ln["recommended"]) > 1000)

    w = open_page(browser, server)
    sign_in(w, "compiler")
    w.page.goto(f"{w.base}/ui/drafts")
    w.page.fill("#decision_id", decision["decision_id"])
    w.page.fill("#name", "2021年年初预算 第一稿")
    w.page.click("#do-create")
    w.page.wait_for_url(re.compile(r".*/ui/drafts/[0-9a-f-]{36}$"))
    draft_url = w.page.url
    assert w.page.inner_text("#draft-state") == "编制中"

    row = w.page.locator(f"#line-{line['project_id']}")
    new_amount = Decimal(line["recommended"]) - Decimal("1000.00")
    row.locator("input[name=amount]").fill(f"{new_amount:,.2f}")
    row.locator("input[name=reason]").fill("项目进度滞后，压减1000元")
    row.locator("button[type=submit]").click()
    w.page.wait_for_selector("#done")
    assert "项目进度滞后" in w.page.inner_text("#deviation-table")
    assert "-1,000.00" in w.page.inner_text("#deviation-table")
    w.check()
    assert leaked_codes(w.page.inner_text("body")) == []  # no English code in Chinese mode
    w.page.evaluate("window.scrollTo(0, 0)")
    w.shot("15-draft-editing")
    w.page.click("#do-submit")
    w.page.wait_for_url(draft_url)
    assert w.page.inner_text("#draft-state") == "待审核"
    w.check()

    checker = open_page(browser, server)
    sign_in(checker, "approver")
    checker.page.goto(draft_url)
    checker.page.fill("#approve-comment", "同意")
    checker.page.click("#do-approve")
    checker.page.wait_for_url(draft_url)
    assert checker.page.inner_text("#draft-state") == "定稿"
    assert checker.page.locator(".adjust-form").count() == 0
    assert "可由审计链复核重算" in checker.page.inner_text("#replay")
    checker.check()
    assert leaked_codes(checker.page.inner_text("body")) == []
    checker.shot("16-draft-final")
    checker.page.click("nav >> text=编制方案")  # the top navigation leads to the drafts
    checker.page.wait_for_url("**/ui/drafts")
    assert leaked_codes(checker.page.inner_text("body")) == []

    narrow = open_page(browser, server, width=390, height=844)
    sign_in(narrow, "approver")
    narrow.page.goto(draft_url)
    narrow.check()
    narrow.shot("17-draft-390px")
