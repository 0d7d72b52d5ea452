"""``budget-rules draft …``: budget drafts (编制方案) from the command line, on the service's database.

Every command acts as the holder of ``--token`` (or ``$BUDGET_RULES_TOKEN``) with the same roles and
rules as ``/v1/drafts`` (compilers make and adjust, a different person approves). Exit status: 0
success; 2 invalid input (every problem on stderr, naming the record and field); 1 anything else (a
refused role or person, a conflict such as over the envelope, an unknown id, the database down).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

draft_app = typer.Typer(
    help="Budget drafts (编制方案): create from a recorded recommendation, adjust, submit, approve, report.",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

Token = Annotated[str | None, typer.Option(envvar="BUDGET_RULES_TOKEN", help="your API token (or $BUDGET_RULES_TOKEN)")]
Format = Annotated[str, typer.Option("--format", help="table (default) or json")]


def _fail(lines: list[str], status: int) -> NoReturn:
    for line in lines:
        err.print(line, markup=False)
    raise typer.Exit(status)


@contextmanager
def _session(token: str | None) -> Iterator[tuple[Any, Any]]:
    """(state, actor) for one command, with every expected failure as lines on stderr and an exit status."""
    from sqlalchemy.exc import OperationalError

    from service.app import roles
    from service.app.error_table import exit_status
    from service.app.errors import AppError, InvalidInput
    from service.clistate import authenticated, service_state

    try:
        with service_state() as state:
            actor = authenticated(state, token, *roles.ROLES)
            yield state, actor
    except InvalidInput as error:
        _fail([f"error: {p}" for p in error.problems], 2)
    except AppError as error:
        _fail([f"error ({error.code}): {error.message}"], exit_status(error) or 1)
    except OperationalError as error:
        _fail([f"error: the database is unreachable: {error.orig}"], exit_status(error) or 1)


def _yuan(value: Decimal | str | None) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f}"


def _show(draft: Any, fmt: str) -> None:
    from service.app import drafts

    if fmt == "json":
        typer.echo(json.dumps(drafts.draft_json(draft), ensure_ascii=False, indent=1))
        return
    out.print(
        f"编制方案 {draft.name}（第{draft.version}版） {draft.id}\n"
        f"状态：{draft.state_words}　测算结果：{draft.decision_id}　预算年度：{draft.fiscal_year}\n"
        f"建议数合计：{_yuan(draft.recommended_total)}元　定稿数合计：{_yuan(draft.final_total)}元　"
        f"财力可安排数：{_yuan(draft.envelope)}元"
        + (f"　超出：{_yuan(draft.over_envelope)}元" if draft.over_envelope > 0 else ""),
        markup=False,
    )
    if draft.comment:
        out.print(f"意见：{draft.comment}", markup=False)
    adjusted = [line for line in draft.lines if line.adjusted]
    if adjusted:
        table = Table("项目", "名称", "建议数（元）", "调整后（元）", "差额（元）", "调整原因", "调整人")
        for line in adjusted:
            table.add_row(
                line.project_id,
                line.project_name,
                _yuan(line.recommended),
                _yuan(line.final),
                _yuan(line.difference),
                line.reason or "",
                line.adjusted_by or "",
            )
        out.print(table)


def _check_format(fmt: str, allowed: tuple[str, ...] = ("table", "json")) -> None:
    if fmt not in allowed:
        _fail([f"error: --format must be one of {', '.join(allowed)}"], 2)


@draft_app.command("create")
def create(
    decision_id: Annotated[str, typer.Argument(help="the recorded recommendation (recommend --record prints it)")],
    name: Annotated[str, typer.Option(help="e.g. 2021年年初预算 第一稿")],
    token: Token = None,
    previous: Annotated[
        str | None, typer.Option("--from", help="make a new version of this draft (its adjustments carry over)")
    ] = None,
    fmt: Format = "table",
) -> None:
    """A new draft of a recorded recommendation (or a new version of a draft)."""
    from service.app import drafts

    _check_format(fmt)
    with _session(token) as (state, actor):
        draft = drafts.create_draft(state.db, state.settings.audit_secret, actor, decision_id, name, previous)
        _show(draft, fmt)


@draft_app.command("list")
def list_command(
    token: Token = None,
    decision: Annotated[str | None, typer.Option(help="only the drafts of this recommendation")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """Drafts, newest first."""
    from service.app import drafts

    with _session(token) as (state, actor):
        rows, total = drafts.list_drafts(state.db, actor, limit, 0, decision)
        table = Table("编制方案", "名称", "版本", "状态", "测算结果", "定稿数合计（元）", "编制人")
        for r in rows:
            words = drafts.STATE_WORDS.get(r.state, r.state)
            table.add_row(r.id, r.name, str(r.version), words, r.decision_id, _yuan(r.final_total), r.created_by)
        out.print(table)
        out.print(f"共 {total} 个", markup=False)


@draft_app.command("show")
def show(draft_id: str, token: Token = None, fmt: Format = "table") -> None:
    """A draft: its state, totals and adjusted lines (json: every line)."""
    from service.app import drafts

    _check_format(fmt)
    with _session(token) as (state, actor):
        _show(drafts.get_draft(state.db, actor, draft_id), fmt)


@draft_app.command("adjust")
def adjust(
    draft_id: str,
    project_id: str,
    amount: Annotated[str, typer.Option(help="the final amount in 元, exact to the fen, ≥ 0")],
    reason: Annotated[str, typer.Option(help="why (required; recorded in the audit trail)")],
    token: Token = None,
) -> None:
    """人工调整: set one line's final amount, with its reason."""
    from service.app import drafts

    with _session(token) as (state, actor):
        draft = drafts.adjust(
            state.db, state.settings.audit_secret, actor, draft_id, project_id, amount.replace(",", ""), reason
        )
        line = next(line for line in draft.lines if line.project_id == project_id)
        out.print(
            f"{project_id} {line.project_name}：建议数 {_yuan(line.recommended)}元 → 调整后 {_yuan(line.final)}元"
            f"（差额 {_yuan(line.difference)}元）；方案定稿数合计 {_yuan(draft.final_total)}元",
            markup=False,
        )


@draft_app.command("submit")
def submit(draft_id: str, token: Token = None) -> None:
    """提交审核 (refused while the final total exceeds the envelope)."""
    from service.app import drafts

    with _session(token) as (state, actor):
        _show(drafts.submit(state.db, state.settings.audit_secret, actor, draft_id), "table")


@draft_app.command("approve")
def approve(
    draft_id: str, token: Token = None, comment: Annotated[str | None, typer.Option(help="审核意见")] = None
) -> None:
    """审核通过: the draft becomes final (定稿). Only a different person from its makers may approve."""
    from service.app import drafts

    with _session(token) as (state, actor):
        _show(drafts.approve(state.db, state.settings.audit_secret, actor, draft_id, comment), "table")


@draft_app.command("return")
def return_command(
    draft_id: str, comment: Annotated[str, typer.Option(help="why it is returned (required)")], token: Token = None
) -> None:
    """退回 to the compiler with a comment."""
    from service.app import drafts

    with _session(token) as (state, actor):
        _show(drafts.return_draft(state.db, state.settings.audit_secret, actor, draft_id, comment), "table")


@draft_app.command("deviations")
def deviations(
    draft_id: str,
    token: Token = None,
    fmt: Annotated[str, typer.Option("--format", help="table (default), json or csv")] = "table",
) -> None:
    """偏离建议清单: every line whose final amount differs from the recommendation; totals up and down."""
    from service.app import drafts

    _check_format(fmt, ("table", "json", "csv"))
    with _session(token) as (state, actor):
        rows = drafts.deviation_report(state.db, actor, draft_id)
    if fmt == "json":
        typer.echo(json.dumps({"draft_id": draft_id, **drafts.deviation_json(rows)}, ensure_ascii=False, indent=1))
        return
    headers = (
        "项目编码",
        "项目名称",
        "部门",
        "建议数（元）",
        "定稿数（元）",
        "差额（元）",
        "调整原因",
        "调整人",
        "调整时间",
        "建议依据的政策",
    )
    cells = [
        (
            r.project_id,
            r.project_name,
            r.department_name or r.department_id,
            f"{r.recommended:.2f}",
            f"{r.final:.2f}",
            f"{r.difference:.2f}",
            r.reason,
            r.adjusted_by,
            beijing_time(r.adjusted_at),
            "；".join(r.policies),
        )
        for r in rows
    ]
    if fmt == "csv":  # UTF-8 with a BOM, so Excel opens the Chinese text as it is, whatever the locale
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows(cells)
        data = ("\ufeff" + text.getvalue()).encode("utf-8")
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None:
            buffer.write(data)
            buffer.flush()
        else:
            sys.stdout.write(data.decode("utf-8"))
        return
    table = Table(*headers)
    for row in cells:
        table.add_row(*row[:3], *(_yuan(v) for v in row[3:6]), *row[6:])
    out.print(table)
    totals = drafts.deviation_totals(rows)
    out.print(
        f"偏离 {totals.lines} 项：调增 {_yuan(totals.up)}元，调减 {_yuan(totals.down)}元，净额 {_yuan(totals.net)}元",
        markup=False,
    )
    for d in totals.departments:
        out.print(
            f"  {d.department_name or d.department_id}：{d.lines} 项，调增 {_yuan(d.up)}元，调减 {_yuan(d.down)}元",
            markup=False,
        )


@draft_app.command("export")
def export(
    draft_id: str,
    fmt: Annotated[str, typer.Option("--format", help="xlsx (the Chinese workbook with 偏离建议) or pdf (编制说明)")],
    output: Annotated[Path, typer.Option("--output", help="the file to write, e.g. 编制说明.pdf")],
    unit: Annotated[str, typer.Option("--unit", help="金额单位: 元 (default) or 万元")] = "元",
    token: Token = None,
) -> None:
    """导出编制方案: the workbook or the 编制说明 PDF, with the recommendation, the final amounts and the deviations."""
    from service.app import draft_exports

    problems = []
    if fmt not in draft_exports.FORMATS:
        problems.append(f"error: --format must be xlsx or pdf, not {fmt!r}")
    if unit not in draft_exports.UNITS:
        problems.append(f"error: --unit must be 元 or 万元, not {unit!r}")
    folder = output.resolve().parent
    if not folder.is_dir():
        problems.append(f"error: --output: the folder {str(folder)!r} does not exist")
    elif output.is_dir():
        problems.append(f"error: --output: {str(output)!r} is a folder, not a file")
    if problems:
        _fail(problems, 2)
    with _session(token) as (state, actor):
        file = draft_exports.export_draft(state.db, actor, draft_id, fmt, unit)
    # nothing half-written: a temporary file in the same folder, renamed over the output when complete
    with tempfile.NamedTemporaryFile("wb", dir=folder, delete=False, suffix=".part") as tmp:
        tmp.write(file.data)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, output)
    err.print(f"已导出 {output}（{len(file.data):,} 字节）", markup=False)


def beijing_time(value: Any) -> str:
    """e.g. 2026年11月29日 14:05 (Asia/Shanghai)."""
    from zoneinfo import ZoneInfo

    local = value.astimezone(ZoneInfo("Asia/Shanghai")) if value.tzinfo else value
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


@draft_app.command("compare")
def compare(
    a: str,
    b: str,
    token: Token = None,
    recommendations: Annotated[bool, typer.Option(help="A and B are recorded recommendations, not drafts")] = False,
    fmt: Format = "table",
) -> None:
    """The lines and totals that differ between two drafts (or two recommendations)."""
    from service.app import drafts

    _check_format(fmt)
    with _session(token) as (state, actor):
        if recommendations:
            result = drafts.compare_decisions(state.db, actor, a, b)
        else:
            result = drafts.compare_drafts(state.db, actor, a, b)
    if fmt == "json":
        typer.echo(json.dumps(drafts.comparison_json(result), ensure_ascii=False, indent=1))
        return
    table = Table("项目", "名称", "A（元）", "B（元）", "差额（元）")
    for line in result.lines:
        table.add_row(line.project_id, line.project_name, _yuan(line.a), _yuan(line.b), _yuan(line.difference))
    out.print(table)
    out.print(
        f"比较 {result.lines_compared} 项，{len(result.lines)} 项不同；合计 A {_yuan(result.total_a)}元，"
        f"B {_yuan(result.total_b)}元，差额 {_yuan(result.difference)}元",
        markup=False,
    )


@draft_app.command("replay")
def replay(draft_id: str, token: Token = None) -> None:
    """复核重算: recompute the draft's figures from its recommendation and the audit trail (exit 1 if they differ)."""
    from service.app import drafts

    with _session(token) as (state, actor):
        result = drafts.replay(state.db, actor, draft_id)
    typer.echo(json.dumps(drafts.replay_json(result), ensure_ascii=False, indent=1))
    if not result.reproduced:
        raise typer.Exit(1)


@draft_app.command("verify")
def verify(token: Token = None) -> None:
    """Replay every draft against the audit trail; exit 1 naming each that does not reproduce."""
    from service.app import drafts

    with _session(token) as (state, actor):
        bad = drafts.verify(state.db, actor)
    for r in bad:
        for problem in r.problems:
            err.print(f"draft {r.draft_id}: {problem}", markup=False)
    if bad:
        raise typer.Exit(1)
    out.print("所有编制方案均可由审计链复核重算。 Every draft reproduces from the audit trail.", markup=False)
