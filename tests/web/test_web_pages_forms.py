"""The maintainer's, approver's and analyst's pages in Chromium (issue 15), against a real server.

The story: a maintainer changes the cut rate to 15% in the parameter form (and switches department tilt
off); the approver reads the reason, the diff in business words and the impact, and returns it with a
comment; the maintainer reads the comment, revises on top of it and proposes again; the approver
approves and activates; the next recommendation cuts 15%. Screenshots go to docs/screenshots/ (also at
390 px wide, where nothing may be wider than the screen).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_web_browser import Server, leaked_codes, open_page, sign_in, small_request

REVIEW_WIDTH = 390


@pytest.fixture(scope="module")
def dataset_id(server: Server) -> str:
    import json

    with server.api("compiler") as api:
        body = {**small_request(6), "fiscal_year": 2021}
        response = api.post("/v1/datasets", content=json.dumps(body, ensure_ascii=False).encode())
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


def fits(w: Any) -> None:
    """Nothing is wider than the viewport (no sideways scrolling of the page itself)."""
    width = w.page.evaluate("document.documentElement.scrollWidth")
    viewport = w.page.evaluate("window.innerWidth")
    assert width <= viewport, f"the page is {width}px wide on a {viewport}px screen"


def test_cut_rate_15_percent_returned_revised_approved_activated_and_used(
    server: Server,
    browser: Any,
    dataset_id: str,
) -> None:
    # the maintainer opens the form from the ruleset's page
    maker = open_page(browser, server)
    sign_in(maker, "maintainer")
    maker.page.goto(f"{server.base}/ui/rulesets/wuding-county")
    maker.page.click("#edit-link")
    maker.page.wait_for_url("**/edit")
    cut_rate = "#f-p-cut-inefficient-cut_rate"
    assert maker.page.input_value(cut_rate) == "10"
    assert "压减比例" in maker.page.inner_text("#policy-cut-inefficient")
    assert "0–100%" in maker.page.inner_text("#policy-cut-inefficient")  # the limits are shown

    # out of range and no reason: shown in place, nothing stored
    maker.page.fill(cut_rate, "150")
    maker.page.click("#do-propose")
    assert "超出允许范围" in maker.page.inner_text("#policy-cut-inefficient")
    assert "请填写" in maker.page.inner_text("#param-form")
    assert maker.page.input_value(cut_rate) == "150"  # what was typed stays
    maker.shot("20-parameter-form-problems")
    maker.check(allowed_statuses=(422,))
    with server.api("maintainer") as api:
        before = len(api.get("/v1/rulesets/wuding-county/revisions").json()["items"])

    maker.page.fill(cut_rate, "15")
    maker.page.uncheck("#f-on-department-tilt")
    maker.page.fill("#f-reason", "压减力度不足，按县政府要求提高到15%")
    assert leaked_codes(maker.page.inner_text("body")) == []  # no English code in Chinese mode
    maker.page.locator("#policy-cut-inefficient").scroll_into_view_if_needed()
    maker.shot("21-parameter-form")
    maker.page.click("#do-propose")
    maker.page.wait_for_url("**/review?done=created")
    assert maker.page.get_attribute("#revision-state", "data-state") == "proposed"
    first = maker.page.url.split("/revisions/")[1].split("/")[0]
    maker.check()
    with server.api("maintainer") as api:
        assert len(api.get("/v1/rulesets/wuding-county/revisions").json()["items"]) == before + 1

    # the approver: reason first, then the diff in business words, then the impact; returns it
    checker = open_page(browser, server)
    sign_in(checker, "approver")
    review_url = f"{server.base}/ui/rulesets/wuding-county/revisions/{first}/review"
    checker.page.goto(review_url)
    main = checker.page.inner_text("main")
    assert main.index("修改理由") < main.index("修改内容") < main.index("对预算数据的影响") < main.index("审核意见")
    assert "压减力度不足" in checker.page.inner_text("#reason")
    changes = checker.page.inner_text("#change-list")
    assert "压减比例 10% → 15%" in changes and "部门整体绩效好的适当倾斜：停用" in changes
    assert "cut_rate" not in changes and "Decimal" not in main
    assert checker.page.locator("#impact-result").is_visible()
    assert "建议数" in checker.page.inner_text("#impact-totals")
    assert leaked_codes(checker.page.inner_text("body")) == [] and "request body" not in main
    checker.shot("22-review")
    checker.page.fill("#comment-return", "部门倾斜政策是县里的既定政策，不能停用；压减比例可以提高。")
    checker.page.click("#do-return")
    checker.page.wait_for_url("**?done=return")
    assert checker.page.get_attribute("#revision-state", "data-state") == "returned"
    checker.check()

    # the maintainer sees the comment, revises on top of it and proposes again
    maker.page.goto(review_url)
    assert "不能停用" in maker.page.inner_text("#return-comment")
    assert leaked_codes(maker.page.inner_text("body")) == []
    maker.shot("23-returned")
    maker.page.click("#revise")
    maker.page.wait_for_url(f"**/edit?base={first}")
    assert maker.page.input_value(cut_rate) == "15"
    assert not maker.page.is_checked("#f-on-department-tilt")
    maker.page.check("#f-on-department-tilt")
    maker.page.fill("#f-reason", "按审核意见恢复部门倾斜，仅提高压减比例")
    maker.page.click("#do-propose")
    maker.page.wait_for_url("**/review?done=created")
    second = maker.page.url.split("/revisions/")[1].split("/")[0]
    assert second != first
    assert maker.page.locator("#do-approve").count() == 0  # the maker cannot approve
    maker.check()

    # the approver approves and activates (replacing the revision in force)
    checker.page.goto(f"{server.base}/ui/rulesets/wuding-county/revisions/{second}/review")
    assert checker.page.inner_text("#change-list").strip() == "绩效一般项目压减：压减比例 10% → 15%"
    checker.page.fill("#reason-approve", "同意")
    checker.page.click("#do-approve")
    checker.page.wait_for_url("**?done=approve")
    checker.page.fill("#reason-activate", "2021年度起执行")
    checker.page.click("#do-activate")
    checker.page.wait_for_url("**?done=activate")
    assert checker.page.get_attribute("#revision-state", "data-state") == "active"
    # after activation the diff is still against the revision it replaced
    assert checker.page.inner_text("#change-list").strip() == "绩效一般项目压减：压减比例 10% → 15%"
    checker.check()

    # the history page lists every revision with who and why; it fits a phone
    phone = open_page(browser, server, width=REVIEW_WIDTH, height=844)
    sign_in(phone, "approver")
    phone.page.goto(f"{server.base}/ui/rulesets/wuding-county/history")
    history = phone.page.inner_text("main")
    assert leaked_codes(phone.page.inner_text("body")) == []
    for words in ("按审核意见恢复部门倾斜", "同意", "2021年度起执行", "退回", "不能停用"):
        assert words in history, words
    fits(phone)
    phone.shot("24-history-390")
    phone.page.goto(f"{server.base}/ui/rulesets/wuding-county/revisions/{second}/review")
    fits(phone)
    phone.shot("25-review-390")
    maker_phone = open_page(browser, server, width=REVIEW_WIDTH, height=844)
    sign_in(maker_phone, "maintainer")
    maker_phone.page.goto(f"{server.base}/ui/rulesets/wuding-county/edit")
    assert maker_phone.page.input_value(cut_rate) == "15"  # the form starts from the revision in force
    fits(maker_phone)
    maker_phone.shot("26-parameter-form-390")
    maker_phone.check()
    maker_phone.page.context.close()
    phone.check()

    # the next recommendation cuts middling performers by 15%
    with server.api("compiler") as api:
        result = api.post("/v1/recommendations", json={"dataset_id": dataset_id}).json()
    assert result["ruleset"]["revision"] == second

    def middling(line: dict[str, Any], outcome: str) -> bool:
        return any(e["rule"] == "grade-middling" and e.get("outcome") == outcome for e in line["explanations"])

    # protected spending (protect-essential) is waived from the cut: its request stands
    waived = [line for line in result["lines"] if middling(line, "waived")]
    for line in waived:
        assert Decimal(line["after_policies"]) == Decimal(line["requested"]), line["project_id"]
    cut = [line for line in result["lines"] if middling(line, "applied") and line not in waived]
    assert cut
    for line in cut:
        expected = (Decimal(line["requested"]) * Decimal("0.85")).quantize(Decimal("0.01"))
        assert Decimal(line["after_policies"]) == expected
    for w in (maker, checker, phone):
        w.page.context.close()


def test_analyst_builds_runs_and_saves_a_what_if_without_a_file(
    server: Server,
    browser: Any,
    dataset_id: str,
) -> None:
    w = open_page(browser, server)
    sign_in(w, "analyst")
    w.page.click("nav >> text=政策测算")
    w.page.wait_for_url("**/ui/whatifs")
    w.page.select_option("#w-dataset", dataset_id)
    # a limit is enforced in place
    w.page.fill("#w-p-cut-inefficient-cut_rate", "120")
    w.page.click("#w-run")
    assert "超出允许范围" in w.page.inner_text("#w-policy-cut-inefficient")
    w.check(allowed_statuses=(422,))

    w.page.fill("#w-title", "压减20%并压缩财力5%")
    w.page.fill("#w-name", "cut-20-envelope-5")
    w.page.fill("#w-p-cut-inefficient-cut_rate", "20")
    w.page.fill("#w-envelope", "-5")
    w.page.fill("#w-shift-evaluation_score", "-5")
    assert leaked_codes(w.page.inner_text("body")) == []
    w.shot("30-whatif-form")
    w.page.click("#w-save")
    w.page.wait_for_url("**done_saved=cut-20-envelope-5")
    assert "cut-20-envelope-5" in w.page.inner_text("#saved")
    assert w.page.input_value("#w-p-cut-inefficient-cut_rate") == "20"  # loaded back into the form
    with w.page.expect_download() as download:
        w.page.click('li[data-name="cut-20-envelope-5"] a.download')
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "cut_rate: '0.2'" in text and "percent: '-5'" in text and "shift_score: evaluation_score" in text
    # saving again under the same name needs "replace"
    w.page.click("#w-save")
    assert "已有同名情景" in w.page.inner_text("#form-problems")
    w.check(allowed_statuses=(422,))

    w.page.click('li[data-name="cut-20-envelope-5"] button.run-saved')
    w.page.wait_for_url("**/ui/whatifs/jobs/*")
    w.page.wait_for_selector("#report", timeout=300_000)
    report = w.page.inner_text("main")
    # the baseline is the revision in force for the dataset's year (10%, or 15% once the story above ran)
    assert re.search(r"绩效一般项目压减：压减比例 1[05]% → 20%", report), report
    assert "财力可安排数变化 -5%" in report or "财力可安排数变化 −5%" in report
    assert "建议数" in report and "未安排财力" in report
    for code in ("Decimal", "reserve_envelope", "after_policies", "None", "+0.00"):
        assert code not in report, code
    unchanged = w.page.locator("#report-unchanged")
    if unchanged.count():
        assert "个部门无变化" in unchanged.inner_text()
    assert any("," in cell for cell in w.page.locator("#report-totals td.num").all_inner_texts())
    w.shot("31-whatif-report")
    w.page.click("a.lang")
    w.page.wait_for_url("**lang=en")
    english = w.page.inner_text("main")
    assert re.search(r"Cut middling performers: Cut rate 1[05]% → 20%", english) and "Recommended" in english
    assert "建议数" not in english and "：" not in english
    w.shot("35-whatif-report-en")
    w.page.click("a.lang")
    w.page.wait_for_url("**lang=zh")
    w.check()
    job_url = w.page.url

    phone = open_page(browser, server, width=REVIEW_WIDTH, height=844)
    sign_in(phone, "analyst")
    phone.page.goto(job_url)
    fits(phone)
    phone.shot("32-whatif-report-390")

    # a sweep of the cut rate from 5% to 25%: charts with readable axes
    phone.page.goto(f"{server.base}/ui/whatifs")
    phone.page.select_option("#w-dataset", dataset_id)
    phone.page.select_option("#w-axis0", "cut-inefficient.cut_rate")
    phone.page.fill("#w-axis0_from", "5")
    phone.page.fill("#w-axis0_to", "25")
    phone.page.fill("#w-axis0_step", "5")
    fits(phone)
    phone.shot("33-whatif-sweep-form-390")
    phone.page.click("#w-run")
    phone.page.wait_for_url("**/ui/whatifs/jobs/*")
    phone.page.wait_for_selector("#report-sweep", timeout=300_000)
    sweep = phone.page.inner_text("#report-sweep")
    assert "25%" in sweep and "压减比例（%）" in sweep
    assert phone.page.locator("svg.chart").count() == 3
    fits(phone)
    phone.shot("34-whatif-sweep-390")
    phone.check()
    for x in (w, phone):
        x.page.context.close()


def test_compiler_reviews_disclosures_sees_late_ones_and_exports(
    server: Server,
    browser: Any,
    tmp_path: Path,
) -> None:
    import json

    from openpyxl import load_workbook  # type: ignore[import-untyped]

    demo = json.loads((Path(__file__).resolve().parents[2] / "demo" / "disclosure-2021.json").read_text("utf-8"))
    records = demo["departments"][:4]
    lines = ["部门编码,部门名称,预算批复日期,绩效目标公开日期,自评报告形成日期,自评报告公开日期"]
    for r in records:
        cells = [r.get(k, "") for k in ("department_id", "name", "budget_approved_on", "targets_disclosed_on",
                                        "report_formed_on", "report_disclosed_on")]  # fmt: skip
        lines.append(",".join(cells))
    csv_file = tmp_path / "公开记录.csv"
    csv_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    w = open_page(browser, server)
    sign_in(w, "compiler")
    w.page.click("nav >> text=绩效信息公开审查")
    w.page.set_input_files("#d-file", str(csv_file))
    w.page.fill("#d-year", "2021")
    w.page.click("#d-review")
    w.page.wait_for_url("**/ui/disclosure/*")
    late = w.page.locator("#late-table tbody tr")
    assert late.count() >= 1
    first = late.first.inner_text()
    assert "县委办公室" in first and "逾期" in first and "20" in first  # D001 published its targets late
    assert leaked_codes(w.page.inner_text("body")) == []
    w.shot("40-disclosure")
    with w.page.expect_download() as download:
        w.page.click("#d-export")
    assert download.value.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    book = load_workbook(saved)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("部门编码", "部门名称", "结论")
    assert len(rows) == 1 + len(records)
    assert rows[1][2] == "未按时公开" and "逾期" in rows[1][3]
    # a broken file: a clear error naming the file, nothing recorded
    bad = tmp_path / "bad.csv"
    bad.write_text("部门编码,部门名称,预算批复日期\nD1,某局,not-a-date\n", encoding="utf-8")
    w.page.goto(f"{server.base}/ui/disclosure")
    w.page.set_input_files("#d-file", str(bad))
    w.page.fill("#d-year", "2021")
    w.page.click("#d-review")
    assert "budget_approved_on" in w.page.inner_text("main") or "预算批复日期" in w.page.inner_text("main")
    w.check(allowed_statuses=(422,))
    w.page.context.close()
