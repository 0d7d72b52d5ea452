"""Rows bound to their audit records (行与审计记录的绑定): a stored row cannot be rewritten unseen.

The audit chain (:mod:`service.audit`) proves that no RECORD was edited. The rows the service reads
back (decisions, datasets, ruleset revisions) are mutable copies beside it, so each is checked against
the record that vouches for it:

* a **decision** (``decisions``) against its ``recommendation`` record (``audit_seq``): the exact
  canonical input (the body as recorded, or the recorded dataset with its digest and overrides) and the
  exact canonical result text, the ruleset reference, who asked, the chain hash, and the columns derived
  from them (fiscal year, envelope, dataset, departments);
* a **dataset** (``datasets``) against its ``dataset.import`` record: the digest of the stored data,
  the source and the counts;
* a **ruleset revision** (``ruleset_revisions``) against its ``ruleset.*`` records: the digest of the
  stored content, and the state the latest record says it is in;
* a **replay** record against the decision it names: that decision exists and the recorded result it
  compared with is the one its audit record holds.

A record that no row answers (a deleted decision, dataset or revision) is reported too.
:func:`check_rows` returns every :class:`Mismatch` (at most ``limit`` listed, all counted);
:func:`decision_mismatch` checks one decision (GET /v1/decisions/{id}, replay).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from service.audit import chain_hash
from service.domain.ruleset import canonical_json
from service.storage.models import AuditRecordRow, DatasetRow, DecisionRow, RulesetRevisionRow

BATCH = 200
DATASET_OVERRIDES = ("fiscal_year", "envelope", "ruleset")


@dataclass(frozen=True)
class Mismatch:
    """One stored row (or record) that does not match the audit trail: which, where, and what differs."""

    kind: str  # decision | dataset | revision | replay
    id: str
    audit_seq: int | None
    fields: tuple[str, ...]
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "audit_seq": self.audit_seq,
            "fields": list(self.fields),
            "problem": self.problem,
        }


@dataclass
class RowCheck:
    """Every mismatch found (the first ``limit`` kept) and how many there were."""

    limit: int = 1000
    found: list[Mismatch] = field(default_factory=list)
    count: int = 0

    def add(self, mismatch: Mismatch | None) -> None:
        if mismatch is None:
            return
        self.count += 1
        if len(self.found) < self.limit:
            self.found.append(mismatch)


def _sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _record_intact(record: AuditRecordRow, secret: str) -> bool:
    return hmac.compare_digest(record.chain_hash, chain_hash(secret, record))


# ------------------------------------------------------------------------------------------ decisions


def recorded_input_text(session: Session, record: AuditRecordRow) -> str | None:
    """The canonical input the record vouches for: the body itself, or the recorded dataset + overrides.

    ``None`` when the record names a dataset that is gone or whose data no longer has the recorded digest.
    """
    recorded = json.loads(record.input_json)
    if not isinstance(recorded, dict) or "dataset_id" not in recorded or "digest" not in recorded:
        return record.input_json
    dataset = session.get(DatasetRow, str(recorded["dataset_id"]))
    if dataset is None or _sha256(dataset.data_json) != recorded["digest"]:
        return None
    overrides = {k: recorded[k] for k in DATASET_OVERRIDES if k in recorded}
    return canonical_json({**json.loads(dataset.data_json), **overrides})


def _department_ids(input_text: str) -> str:
    data = json.loads(input_text)
    projects = data.get("projects") if isinstance(data, dict) else None
    ids = {str(p.get("department_id")) for p in projects or [] if isinstance(p, dict)}
    return "," + ",".join(sorted(ids)) + ","


def decision_fields(session: Session, row: DecisionRow, record: AuditRecordRow) -> list[str]:
    """The decision row's fields that differ from its ``recommendation`` record (empty: bound)."""
    differ: list[str] = []
    recorded_input = recorded_input_text(session, record)
    if recorded_input is None:
        differ.append("dataset")
    elif row.input_json != recorded_input:
        differ.append("input")
    if row.result_json != record.result_json:
        differ.append("result")
    ruleset = (row.ruleset_id, row.ruleset_revision, row.ruleset_digest)
    if ruleset != (record.ruleset_id, record.ruleset_revision, record.ruleset_digest):
        differ.append("ruleset")
    if (row.actor_name, row.actor_role) != (record.actor_name, record.actor_role):
        differ.append("actor")
    if row.chain_hash != record.chain_hash:
        differ.append("chain_hash")
    differ.extend(_derived_fields(row, record, recorded_input))
    return differ


def _derived_fields(row: DecisionRow, record: AuditRecordRow, recorded_input: str | None) -> list[str]:
    differ: list[str] = []
    try:
        result = json.loads(record.result_json)
    except ValueError:
        result = {}
    result = result if isinstance(result, dict) else {}
    if "fiscal_year" in result and row.fiscal_year != result["fiscal_year"]:
        differ.append("fiscal_year")
    if "envelope" in result and row.envelope != result["envelope"]:
        differ.append("envelope")
    recorded = json.loads(record.input_json)
    dataset_id = recorded.get("dataset_id") if isinstance(recorded, dict) else None
    if row.dataset_id != dataset_id:
        differ.append("dataset_id")
    if recorded_input is not None and row.department_ids != _department_ids(recorded_input):
        differ.append("department_ids")
    return differ


def decision_mismatch(session: Session, secret: str, row: DecisionRow) -> Mismatch | None:
    """Whether one decision row still matches its audit record (None: it does)."""
    record = session.get(AuditRecordRow, row.audit_seq)
    if record is None or record.action != "recommendation" or record.subject != row.id:
        return Mismatch(
            "decision",
            row.id,
            row.audit_seq,
            ("audit_seq",),
            f"decision {row.id}: audit record {row.audit_seq} is not its recommendation record",
        )
    fields = decision_fields(session, row, record)
    if not _record_intact(record, secret):
        fields.insert(0, "audit_record")
    if not fields:
        return None
    return Mismatch(
        "decision",
        row.id,
        row.audit_seq,
        tuple(fields),
        f"decision {row.id} differs from audit record {row.audit_seq} in: {', '.join(fields)}",
    )


def recorded_decision(session: Session, secret: str, row: DecisionRow) -> tuple[AuditRecordRow, str] | None:
    """The intact ``recommendation`` record of a decision and the input it vouches for, else None."""
    record = session.get(AuditRecordRow, row.audit_seq)
    if record is None or record.action != "recommendation" or record.subject != row.id:
        return None
    if not _record_intact(record, secret):
        return None
    recorded_input = recorded_input_text(session, record)
    if recorded_input is None:
        return None
    return record, recorded_input


def _batches(session: Session, model: Any, key: Any) -> Iterator[list[Any]]:
    """Every row of a table, ``BATCH`` at a time in key order (memory stays bounded)."""
    last: Any = None
    while True:
        statement = select(model).order_by(col(key))
        if last is not None:
            statement = statement.where(col(key) > last)
        rows = list(session.exec(statement.limit(BATCH)).all())
        if not rows:
            return
        yield rows
        last = getattr(rows[-1], key.key)
        session.expunge_all()


def _check_decisions(session: Session, secret: str, out: RowCheck) -> set[str]:
    ids: set[str] = set()
    for rows in _batches(session, DecisionRow, DecisionRow.id):
        for row in rows:
            ids.add(row.id)
            out.add(decision_mismatch(session, secret, row))
    return ids


def _subjects(session: Session, actions: Iterable[str]) -> Iterator[tuple[int, str | None, str]]:
    statement = (
        select(AuditRecordRow.seq, AuditRecordRow.subject, AuditRecordRow.action)
        .where(col(AuditRecordRow.action).in_(list(actions)))
        .order_by(col(AuditRecordRow.seq))
    )
    yield from session.exec(statement).all()


def _orphans(session: Session, out: RowCheck, kind: str, actions: Iterable[str], known: set[str]) -> None:
    reported: set[str | None] = set()
    for seq, subject, _ in _subjects(session, actions):
        if subject not in known and subject not in reported:
            reported.add(subject)
            out.add(Mismatch(kind, subject or "", seq, ("row",), f"{kind} {subject}: audit record {seq} has no row"))


# ------------------------------------------------------------------------------------------ datasets


def dataset_fields(row: DatasetRow, record: AuditRecordRow) -> list[str]:
    recorded_in = json.loads(record.input_json)
    recorded_out = json.loads(record.result_json)
    differ = []
    if _sha256(row.data_json) != row.digest:
        differ.append("data")
    if row.digest != recorded_in.get("digest"):
        differ.append("digest")
    if row.source != recorded_in.get("source"):
        differ.append("source")
    if (row.departments, row.projects) != (recorded_out.get("departments"), recorded_out.get("projects")):
        differ.append("counts")
    if row.actor != record.actor_name:
        differ.append("actor")
    return differ


def _check_datasets(session: Session, secret: str, out: RowCheck) -> set[str]:
    records = {subject: seq for seq, subject, _ in _subjects(session, ["dataset.import"]) if subject}
    ids: set[str] = set()
    for rows in _batches(session, DatasetRow, DatasetRow.id):
        for row in rows:
            ids.add(row.id)
            seq = records.get(row.id)
            record = session.get(AuditRecordRow, seq) if seq is not None else None
            if record is None:
                out.add(Mismatch("dataset", row.id, None, ("audit_seq",), f"dataset {row.id} has no audit record"))
                continue
            fields = dataset_fields(row, record)
            if fields:
                problem = f"dataset {row.id} differs from audit record {seq} in: {', '.join(fields)}"
                out.add(Mismatch("dataset", row.id, seq, tuple(fields), problem))
    return ids


# ------------------------------------------------------------------------------------------ revisions


def revision_digest(row: RulesetRevisionRow) -> str:
    """The digest of a stored revision's content, computed as :func:`ruleset_digest` does."""
    ruleset = json.loads(row.ruleset_json)
    policies = json.loads(row.policies_json)
    bound = [b.get("policy") for b in ruleset.get("policies", []) if isinstance(b, dict)]
    used = {pid: policies[pid] for pid in bound if pid in policies}
    return _sha256(canonical_json({"ruleset": ruleset, "policies": used}))


def _check_revisions(session: Session, secret: str, out: RowCheck) -> set[str]:
    latest: dict[str, int] = {}
    for seq, subject, action in _subjects(session, _REVISION_ACTIONS):
        if subject and action.startswith("ruleset."):
            latest[subject] = seq
    names: set[str] = set()
    for rows in _batches(session, RulesetRevisionRow, RulesetRevisionRow.revision):
        for row in rows:
            name = f"{row.ruleset_id}@{row.revision}"
            names.add(name)
            last = latest.get(name)
            record = session.get(AuditRecordRow, last) if last is not None else None
            if record is None:
                out.add(Mismatch("revision", name, None, ("audit_seq",), f"revision {name} has no audit record"))
                continue
            fields = []
            if revision_digest(row) != row.digest or row.revision != row.digest.removeprefix("sha256:")[:12]:
                fields.append("content")
            if row.digest != record.ruleset_digest:
                fields.append("digest")
            if json.loads(record.result_json).get("state") != row.state:
                fields.append("state")
            if fields:
                problem = f"revision {name} differs from audit record {last} in: {', '.join(fields)}"
                out.add(Mismatch("revision", name, last, tuple(fields), problem))
    return names


_REVISION_ACTIONS = (
    "ruleset.draft",
    "ruleset.proposed",
    "ruleset.install",
    "ruleset.propose",
    "ruleset.approve",
    "ruleset.activate",
    "ruleset.retire",
)


# ------------------------------------------------------------------------------------------ replays


def _check_replays(session: Session, secret: str, out: RowCheck) -> None:
    for seq, subject, _ in _subjects(session, ["replay"]):
        record = session.get(AuditRecordRow, seq)
        row = session.get(DecisionRow, subject) if subject else None
        if record is None:
            continue
        if row is None:
            out.add(Mismatch("replay", subject or "", seq, ("decision",), f"replay {seq}: no decision {subject}"))
            continue
        original = session.get(AuditRecordRow, row.audit_seq)
        report = json.loads(record.result_json)
        recorded = report.get("recorded_sha256") if isinstance(report, dict) else None
        if original is None or recorded != _sha256(original.result_json):
            problem = f"replay {seq} of decision {subject} compared a result its audit record does not hold"
            out.add(Mismatch("replay", subject or "", seq, ("recorded_sha256",), problem))
        session.expunge_all()


def check_rows(session: Session, secret: str, limit: int = 1000) -> RowCheck:
    """Every decision, dataset, revision and replay checked against the audit trail."""
    out = RowCheck(limit=limit)
    decisions = _check_decisions(session, secret, out)
    _orphans(session, out, "decision", ["recommendation"], decisions)
    datasets = _check_datasets(session, secret, out)
    _orphans(session, out, "dataset", ["dataset.import"], datasets)
    revisions = _check_revisions(session, secret, out)
    _orphans(session, out, "revision", _REVISION_ACTIONS, revisions)
    _check_replays(session, secret, out)
    return out


def integrity_of(session: Session, secret: str, row: DecisionRow) -> dict[str, Any]:
    """What GET of a decision says about its row: ``matches_audit`` and, when not, which fields differ."""
    mismatch = decision_mismatch(session, secret, row)
    return {
        "matches_audit": mismatch is None,
        "audit_seq": row.audit_seq,
        "fields": list(mismatch.fields) if mismatch else [],
        "problem": mismatch.problem if mismatch else None,
    }
