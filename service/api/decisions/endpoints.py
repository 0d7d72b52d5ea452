from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from service import integrity
from service.api.decisions.schemas import DecisionDetail, DecisionPage, DecisionSummary, ReplayReport
from service.api.deps import AUDITORS, COMPILERS, DECISION_READERS, JsonObject, State
from service.app import decisions as service
from service.storage.db import as_utc
from service.storage.models import DecisionRow
from service.storage.repositories.decisions import DecisionFilter

router = APIRouter(tags=["decisions"])

_REQUEST_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "a budget request (CONTRACT.md), or {dataset_id, fiscal_year?, envelope?, ruleset?}",
                }
            }
        },
    }
}


def _summary(row: DecisionRow) -> dict[str, Any]:
    return {
        "decision_id": row.id,
        "created_at": as_utc(row.created_at),
        "actor": {"name": row.actor_name, "role": row.actor_role},
        "ruleset": {"id": row.ruleset_id, "revision": row.ruleset_revision, "digest": row.ruleset_digest},
        "fiscal_year": row.fiscal_year,
        "envelope": row.envelope,
        "dataset_id": row.dataset_id,
        "audit_seq": row.audit_seq,
        "chain_hash": row.chain_hash,
    }


@router.post("/v1/recommendations", openapi_extra=_REQUEST_DOC, response_model=dict[str, Any])
def create_recommendation(body: JsonObject, state: State, actor: COMPILERS) -> Any:
    """The result document of CONTRACT.md, recorded with its audit record."""
    row = service.recommend_and_record(state, actor, body)
    # The stored canonical text is the response: no second parse and re-encode of a large result.
    return Response(content=row.result_json, media_type="application/json")


@router.get("/v1/decisions", response_model=DecisionPage)
def list_decisions(
    state: State,
    _: DECISION_READERS,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    ruleset: str | None = None,
    fiscal_year: int | None = None,
    department: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DecisionPage:
    f = DecisionFilter(
        as_utc(since) if since else None, as_utc(until) if until else None, actor, ruleset, fiscal_year, department
    )
    rows, total = service.list_decisions(state, f, limit, offset)
    items = [DecisionSummary.model_validate(_summary(r)) for r in rows]
    return DecisionPage(items=items, limit=limit, offset=offset, total=total)


@router.get("/v1/decisions/{decision_id}", response_model=DecisionDetail)
def get_decision(decision_id: str, state: State, _: DECISION_READERS) -> DecisionDetail:
    row = service.get_decision(state, decision_id)
    with state.db.transaction() as session:
        bound = integrity.integrity_of(session, state.settings.audit_secret, row)
    return DecisionDetail.model_validate(
        {
            **_summary(row),
            "input": json.loads(row.input_json),
            "result": json.loads(row.result_json),
            "integrity": bound,
        }
    )


@router.post("/v1/decisions/{decision_id}/replay", response_model=ReplayReport)
def replay_decision(decision_id: str, state: State, actor: AUDITORS) -> ReplayReport:
    report, seq = service.replay(state, actor, decision_id)
    return ReplayReport.model_validate({**report, "audit_seq": seq})
