"""Exports of a budget draft (编制方案), on SQLite and PostgreSQL: the workbook and the 编制说明 PDF.

Real files: the xlsx opened with openpyxl (sheet 偏离建议: every adjusted line, to the fen, its 合计
and the totals up and down; 汇总 says which figures are the recommendation and which are final, and
whether the draft is 定稿); the PDF read with pdftotext (section 六、偏离建议情况) and its deviation
page rendered with pdftoppm. The CLI ``budget-rules draft export`` writes the same files.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook  # type: ignore[import-untyped]
from typer.testing import CliRunner

from service.cli import app as cli_app
from tests.api.conftest import SECRET, bearer, extra_token, small_request

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
CENT = Decimal("0.01")


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(scope="module")
def made(app: FastAPI, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]) -> dict[str, Any]:
    """A final draft with three adjustments (two raises, one cut), and an open draft with the same ones."""
    compiler = extra_token(app, "compiler", f"Zhang.Wei-{uuid.uuid4().hex[:6]}")
    approver = extra_token(app, "approver", f"Zhao.Min-{uuid.uuid4().hex[:6]}")
    decision = _ok(client.post("/v1/recommendations", json=small_request(demo_request), headers=bearer(compiler)))
    lines = decision["lines"]
    funded = [ln for ln in lines if Decimal(ln["recommended"]) > 1000]
    first, second = funded[0], funded[1]
    excluded = next((ln for ln in lines if Decimal(ln["recommended"]) == 0), funded[2])
    amounts = {
        first["project_id"]: (Decimal(first["recommended"]) + Decimal("1234.56"), "县委常委会议定：增加配套"),
        second["project_id"]: (Decimal(second["recommended"]) - Decimal("1000.01"), "项目进度滞后，压减"),
        excluded["project_id"]: (Decimal(excluded["recommended"]) + Decimal("50000.00"), "上级专项要求安排，人工纳入"),
    }
    draft = _ok(
        client.post(
            "/v1/drafts",
            json={"decision_id": decision["decision_id"], "name": "2021年年初预算 第一稿"},
            headers=bearer(compiler),
        )
    )
    open_draft = _ok(
        client.post(
            "/v1/drafts",
            json={"decision_id": decision["decision_id"], "name": "2021年年初预算 试算稿"},
            headers=bearer(compiler),
        )
    )
    for pid, (amount, reason) in amounts.items():
        for target in (draft, open_draft):
            _ok(
                client.put(
                    f"/v1/drafts/{target['draft_id']}/lines/{pid}",
                    json={"amount": f"{amount:.2f}", "reason": reason},
                    headers=bearer(compiler),
                )
            )
    _ok(client.post(f"/v1/drafts/{draft['draft_id']}/submit", json={}, headers=bearer(compiler)))
    _ok(client.post(f"/v1/drafts/{draft['draft_id']}/approve", json={"comment": "同意"}, headers=bearer(approver)))
    return {
        "decision": decision,
        "draft_id": draft["draft_id"],
        "open_id": open_draft["draft_id"],
        "amounts": amounts,
        "recommended": {ln["project_id"]: Decimal(ln["recommended"]) for ln in lines},
        "names": {ln["project_id"]: ln["name"] for ln in lines},
        "compiler": compiler,
    }


def _workbook(client: TestClient, token: str, draft_id: str, unit: str = "元") -> Any:
    response = client.get(f"/v1/drafts/{draft_id}/export.xlsx", params={"unit": unit}, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["content-disposition"]
    return load_workbook(io.BytesIO(response.content))


def _deviation_sheet(book: Any) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The 偏离建议 rows by project id, and the labelled rows under them (合计, 其中：调增合计 …)."""
    sheet = book["偏离建议"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    end = next(i for i, r in enumerate(rows) if r[0] == "合计")
    data = {str(r[0]): r for r in rows[:end]}
    labelled = {str(r[0]) + ("" if r[0] != "单位小计" else f" {r[2]}"): r for r in rows[end:] if r[0]}
    return data, labelled


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def test_the_workbook_of_a_final_draft_has_the_deviations_to_the_fen(client: TestClient, made: dict[str, Any]) -> None:
    book = _workbook(client, made["compiler"], made["draft_id"])
    assert book.sheetnames[:5] == ["汇总", "项目明细", "部门汇总", "解释与依据", "偏离建议"]
    sheet = book["偏离建议"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[4:7] == ["建议数（规则测算）（元）", "定稿数（编制方案）（元）", "差额（元）"]
    data, labelled = _deviation_sheet(book)
    assert set(data) == set(made["amounts"])
    for pid, (amount, reason) in made["amounts"].items():
        row = data[pid]
        recommended = made["recommended"][pid]
        assert row[1] == made["names"][pid]
        assert (_dec(row[4]), _dec(row[5]), _dec(row[6])) == (recommended, amount, amount - recommended)
        assert row[7] == reason and row[8].startswith("Zhang.Wei-")
    differences = [amount - made["recommended"][pid] for pid, (amount, _) in made["amounts"].items()]
    recommended_sum = sum((made["recommended"][pid] for pid in made["amounts"]), Decimal("0.00"))
    final_sum = sum((amount for amount, _ in made["amounts"].values()), Decimal("0.00"))
    total = labelled["合计"]
    assert total[1] == "3项"
    assert (_dec(total[4]), _dec(total[5]), _dec(total[6])) == (recommended_sum, final_sum, sum(differences))
    up = sum((d for d in differences if d > 0), Decimal("0.00"))
    down = sum((-d for d in differences if d < 0), Decimal("0.00"))
    assert _dec(labelled["其中：调增合计"][6]) == up and _dec(labelled["其中：调减合计"][6]) == -down
    assert down == Decimal("1000.01")
    by_department: dict[str, Decimal] = {}
    for pid, difference in zip(made["amounts"], differences, strict=True):
        department = str(data[pid][2])
        by_department[department] = by_department.get(department, Decimal("0.00")) + difference
    for department, net in by_department.items():
        assert _dec(labelled[f"单位小计 {department}"][6]) == net
    notes = [str(r[0]) for r in labelled.values()]
    assert any("状态：定稿" in n for n in notes), notes

    summary = {row[0].value: row for row in book["汇总"].iter_rows(min_row=2) if row[0].value}
    assert summary["方案状态"][1].value.startswith("定稿")
    assert "审核通过" in summary["方案状态"][1].value
    assert _dec(summary["建议数合计（规则测算）"][2].value) == _dec(
        made["decision"]["summary"]["totals"]["recommended"]
    )
    assert (
        _dec(summary["定稿数合计（编制方案）"][2].value) - _dec(summary["建议数合计（规则测算）"][2].value) == up - down
    )
    assert "建议数" in summary["金额口径"][1].value and "偏离建议" in summary["金额口径"][1].value


def test_the_workbook_in_wan_yuan_keeps_every_fen(client: TestClient, made: dict[str, Any]) -> None:
    book = _workbook(client, made["compiler"], made["draft_id"], "万元")
    data, _ = _deviation_sheet(book)
    assert book["偏离建议"]["F1"].value == "定稿数（编制方案）（万元）"
    for pid, (amount, _) in made["amounts"].items():
        assert Decimal(str(data[pid][5])) * 10000 == amount  # exact: 万元 with up to six decimals


def test_an_open_draft_says_it_is_not_final(client: TestClient, made: dict[str, Any]) -> None:
    book = _workbook(client, made["compiler"], made["open_id"])
    summary = {row[0].value: row for row in book["汇总"].iter_rows(min_row=2) if row[0].value}
    assert "尚未定稿" in summary["方案状态"][1].value
    data, _ = _deviation_sheet(book)
    assert set(data) == set(made["amounts"])


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "编制说明.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True, timeout=120
    ).stdout


@needs_poppler
def test_the_budget_pdf_of_a_draft_lists_the_deviations(
    client: TestClient, made: dict[str, Any], tmp_path: Path
) -> None:
    response = client.get(f"/v1/drafts/{made['draft_id']}/budget.pdf", headers=bearer(made["compiler"]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf" and response.content[:5] == b"%PDF-"
    text = _pdf_text(response.content, tmp_path)
    flat = "".join(text.split())
    assert "六、偏离建议情况" in flat and "七、项目调整理由及依据" in flat
    assert "2021年年初预算第一稿（第1版）" in flat
    assert "方案状态定稿" in flat and "本方案已定稿。" in flat
    end = flat.index("七、项目调整理由及依据")
    section = flat[flat.rindex("六、偏离建议情况", 0, end) : end]  # the heading, not the note that points to it
    for pid, (amount, reason) in made["amounts"].items():
        recommended = made["recommended"][pid]
        # a reason wraps inside its cell and pdftotext interleaves the wrapped parts of a row: its start
        assert pid in section and reason[:6] in section
        assert f"{amount:,.2f}" in section and f"{amount - recommended:,.2f}" in section
    differences = [amount - made["recommended"][pid] for pid, (amount, _) in made["amounts"].items()]
    up = sum((d for d in differences if d > 0), Decimal("0.00"))
    assert f"调增合计{up:,.2f}元，调减合计1,000.01元" in section
    assert f"{sum(differences):,.2f}" in section  # the 合计 row's difference

    # The open draft: the same list, and the document says the figures are not final yet.
    response = client.get(f"/v1/drafts/{made['open_id']}/budget.pdf", headers=bearer(made["compiler"]))
    flat = "".join(_pdf_text(response.content, tmp_path).split())
    assert "尚未定稿" in flat and "六、偏离建议情况" in flat


@needs_poppler
def test_the_deviation_page_renders(client: TestClient, made: dict[str, Any], tmp_path: Path) -> None:
    """The page holding 六、偏离建议情况 as an image (looked at by hand at 60 dpi: docs/drafts.md)."""
    response = client.get(f"/v1/drafts/{made['draft_id']}/budget.pdf", headers=bearer(made["compiler"]))
    path = tmp_path / "draft.pdf"
    path.write_bytes(response.content)
    pages = subprocess.run(["pdfinfo", path], capture_output=True, text=True, check=True).stdout
    count = int(next(line.split()[-1] for line in pages.splitlines() if line.startswith("Pages:")))
    page = next(
        n
        for n in range(1, count + 1)
        if "偏离建议情况"
        in subprocess.run(
            ["pdftotext", "-f", str(n), "-l", str(n), path, "-"], capture_output=True, text=True, check=True
        ).stdout
    )
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page), path, tmp_path / "p"], check=True)
    images = list(tmp_path.glob("p-*.png"))
    assert len(images) == 1 and images[0].stat().st_size > 5_000


@pytest.mark.parametrize(("path", "status"), [("export.xlsx?unit=千元", 422), ("budget.pdf?unit=", 422)])
def test_a_bad_unit_is_refused(client: TestClient, made: dict[str, Any], path: str, status: int) -> None:
    response = client.get(f"/v1/drafts/{made['draft_id']}/{path}", headers=bearer(made["compiler"]))
    assert response.status_code == status, response.text
    assert "unit" in json.dumps(response.json()["error"], ensure_ascii=False)


def test_an_unknown_draft_is_404(client: TestClient, made: dict[str, Any]) -> None:
    response = client.get(f"/v1/drafts/{uuid.uuid4()}/export.xlsx", headers=bearer(made["compiler"]))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_openapi_document_lists_the_exports_and_their_errors(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for path, media in (
        ("/v1/drafts/{draft_id}/export.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("/v1/drafts/{draft_id}/budget.pdf", "application/pdf"),
    ):
        responses = paths[path]["get"]["responses"]
        assert media in responses["200"]["content"]
        assert {"401", "403", "404", "422"} <= set(responses)


def test_the_cli_exports_a_draft(database_url: str, made: dict[str, Any], tmp_path: Path) -> None:
    runner = CliRunner()
    env = {
        "BUDGET_RULES_DATABASE_URL": database_url,
        "BUDGET_RULES_AUDIT_SECRET": SECRET,
        "BUDGET_RULES_TOKEN": made["compiler"],
    }
    output = tmp_path / "编制方案.xlsx"
    done = runner.invoke(
        cli_app,
        ["draft", "export", made["draft_id"], "--format", "xlsx", "--output", str(output), "--unit", "万元"],
        env=env,
    )
    assert done.exit_code == 0, done.output
    book = load_workbook(output)
    data, _ = _deviation_sheet(book)
    for pid, (amount, _) in made["amounts"].items():
        assert Decimal(str(data[pid][5])) * 10000 == amount

    pdf = tmp_path / "编制说明.pdf"
    done = runner.invoke(
        cli_app, ["draft", "export", made["draft_id"], "--format", "pdf", "--output", str(pdf)], env=env
    )
    assert done.exit_code == 0, done.output
    assert pdf.read_bytes()[:5] == b"%PDF-"

    bad = runner.invoke(
        cli_app, ["draft", "export", made["draft_id"], "--format", "docx", "--output", str(tmp_path / "x")], env=env
    )
    assert bad.exit_code == 2 and "--format" in bad.stderr
    assert not (tmp_path / "x").exists()
    missing_folder = tmp_path / "no-such-folder" / "x.xlsx"
    bad = runner.invoke(
        cli_app, ["draft", "export", made["draft_id"], "--format", "xlsx", "--output", str(missing_folder)], env=env
    )
    assert bad.exit_code == 2 and "--output" in bad.stderr
    unknown = runner.invoke(
        cli_app,
        ["draft", "export", str(uuid.uuid4()), "--format", "xlsx", "--output", str(tmp_path / "u.xlsx")],
        env=env,
    )
    assert unknown.exit_code == 1 and "编制方案不存在" in unknown.stderr
    assert not (tmp_path / "u.xlsx").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["编制方案.xlsx", "编制说明.pdf"]  # no .part left
