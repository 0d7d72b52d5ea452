"""The audit trail (审计链): an append-only hash chain of every decision and change.

Each record's ``chain_hash`` is HMAC-SHA256(secret, prev_hash + canonical record), where the canonical
record is the canonical JSON of every stored field except the hash itself. Appends are serialized
(SQLite: the transaction began with BEGIN IMMEDIATE; PostgreSQL: the head row is locked FOR UPDATE),
so concurrent writers still produce one linear chain. The caller's transaction holds both the audit
record and whatever it vouches for (a decision, a dataset, a token change): both commit or neither.

:func:`verify` walks the chain and names the FIRST record edited, removed, inserted or reordered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sqlmodel import Session, col, select

from service.app.errors import Conflict
from service.domain.ruleset import canonical_json, canonical_result_bytes
from service.storage.models import AuditHeadRow, AuditRecordRow

GENESIS = "0" * 64
HEAD_ID = 1


@dataclass(frozen=True)
class Actor:
    """Who asked: the user's (session) or the token's name, and the role.

    ``owner`` is the user a token belongs to (its named user, else the person who minted it over the
    API); ``None`` for a signed-in user (the name is the user's) and for tokens made at the console.
    ``person`` is the identity that separation of duties compares (maker-checker on rulesets and
    budget drafts): never compare ``name`` for that. It is the case-folded user name (user names are
    unique regardless of case and never change), so a token and a session of one user are one person,
    and tokens an admin mints over the API are that admin's.
    """

    name: str
    role: str
    owner: str | None = None

    @property
    def person(self) -> str:
        return (self.owner or self.name).casefold()


@cache
def versions() -> tuple[str, str]:
    """(budget-rules version, durable-rules version) recorded with every audit record."""

    def _v(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "unknown"

    return _v("budget-rules"), _v("durable-rules")


def _canonical_record(row: AuditRecordRow) -> bytes:
    """The record's canonical JSON (:func:`canonical_json`) as UTF-8.

    Text, whole numbers and null only: :func:`canonical_result_bytes` writes those characters several times
    faster than the standard library on the megabytes of escaped input and result text of a large decision.
    """
    fields = row.model_dump(exclude={"chain_hash"})
    return canonical_result_bytes(fields)


def chain_hash(secret: str, row: AuditRecordRow) -> str:
    """HMAC-SHA256(secret, prev_hash + canonical record), the UTF-8 of that text."""
    mac = hmac.new(secret.encode("utf-8"), row.prev_hash.encode("utf-8"), hashlib.sha256)
    mac.update(_canonical_record(row))
    return mac.hexdigest()


class AuditTampered(Conflict):
    """The chain cannot be trusted (its head row is gone): nothing is recorded until an auditor looks."""

    code = "audit_tampered"


HEAD_MISSING = (
    "the audit head row is missing: the chain was tampered with (or the migrations were never applied); "
    "nothing can be recorded until it is restored"
)


def _locked_head(session: Session) -> AuditHeadRow:
    statement = select(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).with_for_update()
    head = session.exec(statement).first()
    if head is None:
        raise AuditTampered(HEAD_MISSING)
    return head


def append(
    session: Session,
    secret: str,
    *,
    actor: Actor,
    action: str,
    input_doc: Any = None,
    result_doc: Any = None,
    subject: str | None = None,
    ruleset: dict[str, str] | None = None,
    input_json: str | None = None,
    result_json: str | None = None,
) -> AuditRecordRow:
    """Append one record to the chain inside the caller's transaction (committed by the caller).

    The input and result are given as documents, or (to serialize a large result once) as their
    canonical JSON text already made with :func:`canonical_json`.
    """
    head = _locked_head(session)
    package_version, engine_version = versions()
    row = AuditRecordRow(
        seq=head.seq + 1,
        recorded_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        actor_name=actor.name,
        actor_role=actor.role,
        action=action,
        subject=subject,
        input_json=input_json if input_json is not None else canonical_json(input_doc),
        result_json=result_json if result_json is not None else canonical_json(result_doc),
        ruleset_id=ruleset["id"] if ruleset else None,
        ruleset_revision=ruleset["revision"] if ruleset else None,
        ruleset_digest=ruleset["digest"] if ruleset else None,
        package_version=package_version,
        engine_version=engine_version,
        prev_hash=head.chain_hash,
        chain_hash="",
    )
    row.chain_hash = chain_hash(secret, row)
    session.add(row)
    session.flush()  # the insert fails here, inside the transaction, if anything is wrong
    head.seq = row.seq
    head.chain_hash = row.chain_hash
    session.add(head)
    session.flush()
    return row


@dataclass(frozen=True)
class Head:
    seq: int
    count: int
    chain_hash: str


def head(session: Session) -> Head:
    pointer = session.get(AuditHeadRow, HEAD_ID)
    if pointer is None:
        raise AuditTampered(HEAD_MISSING)
    return Head(seq=pointer.seq, count=pointer.seq, chain_hash=pointer.chain_hash)


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    mismatches: tuple[dict[str, Any], ...] = ()
    mismatch_count: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "count": self.count,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "mismatches": list(self.mismatches),
            "mismatch_count": self.mismatch_count,
        }


def verify(session: Session, secret: str, batch: int = 1000) -> Verification:
    """The chain walked (first record that does not fit), then every row checked against its record.

    Rows numbered 0 or below are read too (the chain starts at 1: such a row was inserted), and a missing
    head row is reported as tampering. See :mod:`service.integrity` for the rows bound to records.
    """
    chain = _verify_chain(session, secret, batch)
    from service import integrity  # integrity imports this module

    rows = integrity.check_rows(session, secret)
    if rows.count == 0:
        return chain
    listed = tuple(m.as_dict() for m in rows.found)
    if not chain.ok:
        return replace(chain, mismatches=listed, mismatch_count=rows.count)
    first = rows.found[0]
    problem = f"{rows.count} stored row(s) differ from their audit records; the first: {first.problem}"
    return Verification(False, chain.count, chain.head_hash, first.audit_seq, problem, listed, rows.count)


def _outside_chain(session: Session) -> int | None:
    statement = select(AuditRecordRow.seq).where(col(AuditRecordRow.seq) < 1).order_by(col(AuditRecordRow.seq))
    return session.exec(statement.limit(1)).first()


def _verify_chain(session: Session, secret: str, batch: int) -> Verification:
    pointer = session.get(AuditHeadRow, HEAD_ID)
    if pointer is None:
        return Verification(False, 0, GENESIS, None, HEAD_MISSING)
    stray = _outside_chain(session)
    if stray is not None:
        inserted = f"record {stray} is outside the chain (records are numbered from 1): it was inserted"
        return Verification(False, 0, GENESIS, stray, inserted)
    expected_seq, prev = 1, GENESIS
    last_seq = 0
    while True:
        statement = (
            select(AuditRecordRow).where(col(AuditRecordRow.seq) >= expected_seq).order_by(col(AuditRecordRow.seq))
        )
        rows = session.exec(statement.limit(batch)).all()
        if not rows:
            break
        for row in rows:
            problem = _check(row, expected_seq, prev, secret)
            if problem:
                return Verification(False, last_seq, prev, expected_seq if "missing" in problem else row.seq, problem)
            prev, last_seq, expected_seq = row.chain_hash, row.seq, row.seq + 1
        session.expunge_all()
    if last_seq != pointer.seq or prev != pointer.chain_hash:
        return Verification(
            False,
            last_seq,
            prev,
            last_seq + 1,
            f"record {last_seq + 1} is missing: the head names record {pointer.seq} "
            "(records were removed from the end of the chain, or the head was altered)",
        )
    return Verification(True, last_seq, prev)


def _check(row: AuditRecordRow, expected_seq: int, prev: str, secret: str) -> str | None:
    if row.seq != expected_seq:
        return f"record {expected_seq} is missing (the next record found is {row.seq})"
    if row.prev_hash != prev:
        return f"record {row.seq} does not follow record {row.seq - 1} (inserted or reordered)"
    if not hmac.compare_digest(row.chain_hash, chain_hash(secret, row)):
        return f"record {row.seq} was edited (its hash does not match its content)"
    return None


def record_document(row: AuditRecordRow) -> dict[str, Any]:
    """An audit record as JSON-ready data (input and result parsed back from their canonical text)."""
    data = row.model_dump()
    data["input"] = json.loads(data.pop("input_json"))
    data["result"] = json.loads(data.pop("result_json"))
    return data
