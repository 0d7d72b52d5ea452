"""The auditors' pages (``/ui/audit``): the chain's verification, its records listed and filtered, one
record opened, and the filtered records exported as CSV or xlsx. Reads only (service.app.audit_records).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.app import audit_records
from service.storage.models import AuditRecordRow
from service.web import views
from service.web.i18n import action_label, field_label, translate, value_text, when_text
from service.web.routes import render, shown
from service.web.session import AUDITORS, WebError, lang_of, need, state_of

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _date(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise WebError(422, f"{name}: must be a date (YYYY-MM-DD)", code="invalid_date", fields=[name]) from None


def _filters(request: Request) -> audit_records.RecordFilter:
    q = request.query_params
    return audit_records.RecordFilter(
        actor=(q.get("actor") or "").strip()[:100] or None,
        action=(q.get("action") or "").strip()[:40] or None,
        since=_date(q.get("since", ""), "since"),
        until=_date(q.get("until", ""), "until"),
        subject=(q.get("subject") or "").strip()[:200] or None,
        zone=state_of(request).settings.timezone,
    )


def _offset(request: Request) -> int:
    text = request.query_params.get("offset", "")
    if not text:
        return 0
    if not text.isdigit() or len(text) > 9:
        raise WebError(422, "offset: must be a whole number", code="invalid_number", fields=["offset"])
    return int(text)


@router.get("/ui/audit")
def audit_page(request: Request) -> HTMLResponse:
    need(request, AUDITORS)
    state = state_of(request)
    filters = _filters(request)
    offset = _offset(request)
    with shown():
        verification, head = views.verify_chain(state)
        with state.db.transaction() as session:
            rows, total = audit_records.list_records(session, filters, PAGE_SIZE, offset)
            known_actions = audit_records.actions(session)
    q = request.query_params
    kept = [(k, v) for k, v in q.multi_items() if k not in ("offset", "lang") and v]
    prev_url = f"?{urlencode([*kept, ('offset', max(0, offset - PAGE_SIZE))])}" if offset > 0 else None
    next_url = f"?{urlencode([*kept, ('offset', offset + PAGE_SIZE)])}" if offset + PAGE_SIZE < total else None
    return render(
        request,
        "audit.html",
        verification=verification,
        head=head,
        rows=rows,
        total=total,
        offset=offset,
        q=q,
        actions=known_actions,
        action_label=lambda a: action_label(lang_of(request), a),
        export_query=urlencode(kept),
        prev_url=prev_url,
        next_url=next_url,
    )


@router.get("/ui/audit/records/{seq}")
def audit_record_page(request: Request, seq: str) -> HTMLResponse:
    need(request, AUDITORS)
    if not seq.isdigit() or len(seq) > 12:
        raise WebError(404, "err_404")
    state = state_of(request)
    lang, zone = lang_of(request), state.settings.timezone
    with shown(), state.db.transaction() as session:
        opened = audit_records.open_record(session, state.settings.audit_secret, int(seq))
    return render(
        request,
        "audit_record.html",
        record=opened,
        action_label=action_label(lang, opened.row.action),
        input_summary=[(field_label(lang, k), value_text(lang, k, v, zone)) for k, v in opened.input_summary],
        result_summary=[(field_label(lang, k), value_text(lang, k, v, zone)) for k, v in opened.result_summary],
    )


def _export_table(request: Request) -> tuple[list[str], list[list[str]]]:
    need(request, AUDITORS)
    state = state_of(request)
    lang = lang_of(request)
    filters = _filters(request)
    with shown(), state.db.transaction() as session:
        rows = audit_records.export_rows(session, filters)
    zone = state.settings.timezone
    keys = ("audit_seq", "time", "actor", "role", "action", "subject", "reason", "input", "result", "chain_hash")
    header = [translate(lang, k) for k in keys]
    return header, [_export_row(r, lang, zone) for r in rows]


def _export_row(row: AuditRecordRow, lang: str, zone: str) -> list[str]:
    try:
        input_doc = json.loads(row.input_json)
    except ValueError:
        input_doc = None
    reason = input_doc.get("reason") if isinstance(input_doc, dict) else None
    return [
        str(row.seq),
        when_text(row.recorded_at, lang, zone),
        row.actor_name,
        translate(lang, f"role_{row.actor_role}") if row.actor_role != "none" else "—",
        action_label(lang, row.action),
        row.subject or "",
        reason if isinstance(reason, str) else "",
        row.input_json,
        row.result_json,
        row.chain_hash,
    ]


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/ui/audit/export.csv")
def audit_export_csv(request: Request) -> Response:
    header, rows = _export_table(request)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_safe_cell(c) for c in row] for row in rows])
    # UTF-8 with a byte-order mark: Excel opens Chinese text correctly
    return _download(("\ufeff" + out.getvalue()).encode("utf-8"), "text/csv; charset=utf-8", "audit-records.csv")


@router.get("/ui/audit/export.xlsx")
def audit_export_xlsx(request: Request) -> Response:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    header, rows = _export_table(request)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = translate(lang_of(request), "audit_records")[:31]
    sheet.append(header)
    for row in rows:
        sheet.append([_safe_cell(c) for c in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _download(
        buffer.getvalue(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "audit-records.xlsx",
    )


def _safe_cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula (a reason typed as "=HYPERLINK(…)" stays text)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
