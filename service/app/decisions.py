"""Recommend and record; read decisions back; replay a decision against its recorded ruleset.

The recommendation is computed outside any transaction and canonicalized once; then
:func:`record_decision` writes its audit record and the decision row in ONE transaction (the audit
append serializes writers), so both exist or neither. The row is inserted once, already carrying its
audit sequence number and chain hash. Replays and disclosure reviews are recorded the same way.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from service import audit, integrity
from service.app.errors import Conflict, NotFound
from service.app.requests import parse_budget_request
from service.app.state import AppState
from service.domain import gcpause
from service.domain.decision import recommend
from service.domain.errors import InvalidInput, Problem, UnknownRuleset
from service.domain.money import money_text
from service.domain.records import BudgetRequest
from service.domain.ruleset import CompiledRuleset, canonical_json, canonical_result_json
from service.policyfiles import DEFAULT_RULESET
from service.storage.db import utc_now
from service.storage.models import AuditRecordRow, DecisionRow
from service.storage.repositories import datasets as datasets
from service.storage.repositories import decisions as repository
from service.storage.repositories.decisions import DecisionFilter

DATASET_OVERRIDES = ("fiscal_year", "envelope", "ruleset")


def resolve_input(state: AppState, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """(the request to decide, what the audit record says the input was, the dataset id if any)."""
    if "dataset_id" not in body:
        return body, body, None
    extra = sorted(set(body) - {"dataset_id", *DATASET_OVERRIDES})
    if extra:
        raise InvalidInput([Problem((k,), "not allowed with dataset_id") for k in extra])
    dataset_id = body["dataset_id"]
    if not isinstance(dataset_id, str):
        raise InvalidInput([Problem(("dataset_id",), "must be a string")])
    with state.db.transaction() as session:
        row = datasets.get(session, dataset_id)
    if row is None:
        raise NotFound(f"no dataset {dataset_id!r}")
    overrides = {k: body[k] for k in DATASET_OVERRIDES if k in body}
    raw = {**json.loads(row.data_json), **overrides}
    return raw, {"dataset_id": row.id, "digest": row.digest, **overrides}, row.id


def _ruleset_for(state: AppState, request: BudgetRequest) -> CompiledRuleset:
    """The revision named by ``"ruleset": "id@revision"``, else the one active for the fiscal year."""
    compiled = state.engines.resolve(request.ruleset or DEFAULT_RULESET, request.fiscal_year)
    if compiled.subject != "project_lines":
        raise UnknownRuleset(f"ruleset {compiled.id} judges {compiled.subject}, not project lines")
    return compiled


def recommend_and_record(state: AppState, actor: audit.Actor, body: dict[str, Any]) -> DecisionRow:
    raw, audit_input, dataset_id = resolve_input(state, body)
    with gcpause.paused():  # validation, decision and both canonical texts: see service/domain/gcpause.py
        request = parse_budget_request(raw)
        compiled = _ruleset_for(state, request)
        decision_id = str(uuid.uuid4())
        with state.engines.lease(compiled) as matcher:
            result = recommend(request, compiled, matcher, decision_id=decision_id)
        input_text, result_text = canonical_json(raw), canonical_result_json(result)
        del result
    row = DecisionRow(
        id=decision_id,
        created_at=utc_now(),
        actor_name=actor.name,
        actor_role=actor.role,
        ruleset_id=compiled.id,
        ruleset_revision=compiled.revision,
        ruleset_digest=compiled.digest,
        fiscal_year=request.fiscal_year,
        envelope=money_text(request.envelope) if request.envelope is not None else None,
        dataset_id=dataset_id,
        department_ids="," + ",".join(sorted({p.department_id for p in request.projects})) + ",",
        input_json=input_text,
        # serialized once (a 10,000-line result is megabytes); our own values, so orjson gives the same text
        result_json=result_text,
        audit_seq=0,  # set by record_decision before the row is written
        chain_hash="",
    )
    # Without a dataset the audit record's input is the request itself: its canonical text is made once.
    input_json = row.input_json if audit_input is raw else None
    record_decision(
        state,
        actor,
        "recommendation",
        decision_id,
        audit_input,
        row.result_json,
        compiled,
        row=row,
        input_json=input_json,
    )
    return row


def record_decision(
    state: AppState,
    actor: audit.Actor,
    action: str,
    subject: str,
    input_doc: Any,
    result_json: str,
    compiled: CompiledRuleset,
    *,
    row: DecisionRow | None = None,
    input_json: str | None = None,
) -> AuditRecordRow:
    """Append the audit record of a decision (``result_json``: canonical text) and, when given, insert its row.

    One transaction; the row is written once, with the record's sequence number and chain hash, and the texts
    it shares with the record (the result, and the input unless it came from a dataset) copied from the record
    in the database rather than sent twice. ``input_json``, when given, is ``input_doc``'s canonical text
    already made.
    """
    with state.db.transaction() as session:
        record = audit.append(
            session,
            state.settings.audit_secret,
            actor=actor,
            action=action,
            subject=subject,
            input_doc=input_doc,
            input_json=input_json,
            result_json=result_json,
            ruleset=compiled.ref(),
        )
        if row is not None:
            row.audit_seq, row.chain_hash = record.seq, record.chain_hash
            if row.result_json == record.result_json:  # always, for a recommendation: the texts are copied
                repository.add_with_record_texts(session, row, input_too=row.input_json == record.input_json)
            else:
                repository.add(session, row)
    return record


def get_decision(state: AppState, decision_id: str) -> DecisionRow:
    with state.db.transaction() as session:
        row = repository.get(session, decision_id)
    if row is None:
        raise NotFound(f"no decision {decision_id!r}")
    return row


def list_decisions(state: AppState, f: DecisionFilter, limit: int, offset: int) -> tuple[list[DecisionRow], int]:
    with state.db.transaction() as session:
        return repository.page(session, f, limit, offset)


def _sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def differences(
    recorded: Any, replayed: Any, loc: tuple[str | int, ...] = (), limit: int = 100
) -> list[dict[str, Any]]:
    """Where two JSON documents differ, as locations with both values (at most ``limit``)."""
    out: list[dict[str, Any]] = []

    def walk(a: Any, b: Any, here: tuple[str | int, ...]) -> None:
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                walk(a.get(key), b.get(key), (*here, key))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, (*here, i))
        elif a != b or type(a) is not type(b):
            out.append({"loc": list(here), "recorded": a, "replayed": b})

    walk(recorded, replayed, loc)
    return out


def replay(state: AppState, actor: audit.Actor, decision_id: str) -> tuple[dict[str, Any], int]:
    """Replay the input the AUDIT RECORD holds and compare with the result it holds (never the mutable row)."""
    row = get_decision(state, decision_id)
    with state.db.transaction() as session:
        bound = integrity.recorded_decision(session, state.settings.audit_secret, row)
        row_integrity = integrity.integrity_of(session, state.settings.audit_secret, row)
    if bound is None:
        raise audit.AuditTampered(
            f"decision {decision_id}: its audit record {row.audit_seq} is missing, altered, or names a dataset "
            "that no longer matches; it cannot be replayed (run the audit verification)"
        )
    record, recorded_input = bound
    ruleset_id, revision, digest = record.ruleset_id or "", record.ruleset_revision or "", record.ruleset_digest
    try:  # the recorded revision, compiled from the database: the files may have changed since
        compiled = state.engines.revision(ruleset_id, revision)
    except UnknownRuleset:
        compiled = None
    if compiled is None or compiled.digest != digest:
        available = compiled.digest if compiled else "none"
        raise Conflict(
            f"ruleset {ruleset_id} revision {revision} ({digest}) is not available: "
            f"the database has {available}; the decision cannot be replayed here",
            code="ruleset_revision_unavailable",
        )
    request = parse_budget_request(json.loads(recorded_input))
    with state.engines.lease(compiled) as matcher:
        result = recommend(request, compiled, matcher, decision_id=decision_id)
    replayed_text = canonical_result_json(result)  # as recommend_and_record wrote it
    recorded = json.loads(record.result_json)
    replayed = json.loads(replayed_text)
    identical = replayed_text == record.result_json
    diffs = [] if identical else differences(recorded, replayed)
    report: dict[str, Any] = {
        "decision_id": decision_id,
        "identical": identical,
        "ruleset": compiled.ref(),
        "recorded_sha256": _sha256(record.result_json),
        "replayed_sha256": _sha256(replayed_text),
        "differences": diffs,
        "integrity": row_integrity,
    }
    record = record_decision(
        state, actor, "replay", decision_id, {"decision_id": decision_id}, canonical_json(report), compiled
    )
    return report, record.seq
