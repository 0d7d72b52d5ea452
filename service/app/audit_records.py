"""Reading the audit chain (审计记录) as a person does: filtered lists, one record opened, exports.

Filters: the actor (part of the name, any case), the action, a date range (whole days in the reader's
time zone), the subject (part of it). Each record opened shows who, when, what, the reason typed, a
summary of its input and result, and its place in the chain: the record before it and whether its hash
and link still verify. Exports are bounded (``MAX_EXPORT`` records).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from service import audit
from service.app.errors import NotFound, TooLarge
from service.storage.models import AuditRecordRow

MAX_PAGE = 200
MAX_EXPORT = 100_000
MAX_SUMMARY_ITEMS = 12


@dataclass(frozen=True)
class RecordFilter:
    actor: str | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None
    subject: str | None = None
    zone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class OpenedRecord:
    row: AuditRecordRow
    reason: str | None
    input_summary: list[tuple[str, str]]
    result_summary: list[tuple[str, str]]
    previous_seq: int | None
    hash_ok: bool
    link_ok: bool
    problems: list[str] = field(default_factory=list)


def _day_start_utc(day: date, zone: str) -> str:
    local = datetime.combine(day, time(), tzinfo=ZoneInfo(zone))
    return local.astimezone(ZoneInfo("UTC")).isoformat(timespec="microseconds")


def _filtered(statement: Any, filters: RecordFilter) -> Any:
    if filters.actor:
        pattern = f"%{filters.actor.strip().casefold()}%"
        statement = statement.where(func.lower(col(AuditRecordRow.actor_name)).like(pattern))
    if filters.action:
        statement = statement.where(col(AuditRecordRow.action) == filters.action)
    if filters.subject:
        statement = statement.where(col(AuditRecordRow.subject).contains(filters.subject.strip()))
    # recorded_at is ISO-8601 UTC text with a fixed width, so text order is time order
    if filters.since:
        statement = statement.where(col(AuditRecordRow.recorded_at) >= _day_start_utc(filters.since, filters.zone))
    if filters.until:
        end = _day_start_utc(filters.until + timedelta(days=1), filters.zone)
        statement = statement.where(col(AuditRecordRow.recorded_at) < end)
    return statement


def list_records(
    session: Session, filters: RecordFilter, limit: int = 50, offset: int = 0
) -> tuple[list[AuditRecordRow], int]:
    """The newest records first, one page of them, and how many match."""
    limit = max(1, min(limit, MAX_PAGE))
    statement = _filtered(select(AuditRecordRow), filters).order_by(col(AuditRecordRow.seq).desc())
    rows = list(session.exec(statement.offset(max(0, offset)).limit(limit)).all())
    count = session.exec(_filtered(select(func.count()).select_from(AuditRecordRow), filters)).one()
    return rows, int(count)


def actions(session: Session) -> list[str]:
    """The actions that occur in the chain (for the filter's choices)."""
    return sorted(session.exec(select(AuditRecordRow.action).distinct()).all())


def export_rows(session: Session, filters: RecordFilter) -> list[AuditRecordRow]:
    """Every matching record, oldest first; 413 when there are more than ``MAX_EXPORT``."""
    count = session.exec(_filtered(select(func.count()).select_from(AuditRecordRow), filters)).one()
    if int(count) > MAX_EXPORT:
        raise TooLarge(f"{count} records match; narrow the filters to at most {MAX_EXPORT} for an export")
    statement = _filtered(select(AuditRecordRow), filters).order_by(col(AuditRecordRow.seq))
    return list(session.exec(statement).all())


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + "…"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return f"[{len(value)}]"
    if isinstance(value, dict):
        return "{" + ", ".join(list(value)[:6]) + ("…" if len(value) > 6 else "") + "}"
    return str(value)


def summary(document: Any) -> list[tuple[str, str]]:
    """A document's first-level fields as (field, short text) pairs; lists as their length."""
    if not isinstance(document, dict):
        return [("", _text(document))] if document is not None else []
    items = [(str(k), _text(v)) for k, v in document.items() if k != "reason"]
    if len(items) > MAX_SUMMARY_ITEMS:
        items = [*items[:MAX_SUMMARY_ITEMS], ("…", f"+{len(items) - MAX_SUMMARY_ITEMS}")]
    return items


def open_record(session: Session, secret: str, seq: int) -> OpenedRecord:
    """One record with its summaries and its place in the chain (does its hash and link verify?)."""
    row = session.get(AuditRecordRow, seq)
    if row is None:
        raise NotFound(f"there is no audit record {seq}")
    previous = session.exec(
        select(AuditRecordRow).where(col(AuditRecordRow.seq) < seq).order_by(col(AuditRecordRow.seq).desc()).limit(1)
    ).first()
    input_doc = _loads(row.input_json)
    result_doc = _loads(row.result_json)
    reason = input_doc.get("reason") if isinstance(input_doc, dict) else None
    hash_ok = hmac.compare_digest(row.chain_hash, audit.chain_hash(secret, row))
    expected_prev = previous.chain_hash if previous is not None else audit.GENESIS
    link_ok = row.prev_hash == expected_prev and (previous.seq if previous else 0) == seq - 1
    return OpenedRecord(
        row=row,
        reason=reason if isinstance(reason, str) else None,
        input_summary=summary(input_doc),
        result_summary=summary(result_doc),
        previous_seq=previous.seq if previous is not None else None,
        hash_ok=hash_ok,
        link_ok=link_ok,
    )


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
