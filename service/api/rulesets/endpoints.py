"""Ruleset revisions (规则集版本) and department disclosure reviews (绩效信息公开审查)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Path, Query, Response

from service.api.deps import APPROVERS, COMPILERS, IMPACT_PREVIEWERS, MAINTAINERS, RULESET_READERS, JsonObject, State
from service.api.offload import OffloadedJsonRoute
from service.api.rulesets.schemas import (
    Activation,
    RevisionDetail,
    RevisionList,
    RevisionSummary,
    RevisionUpload,
    RulesetList,
    Transition,
)
from service.app import rulesets as service
from service.storage.db import as_utc
from service.storage.models import RulesetRevisionRow

router = APIRouter(tags=["rulesets"], route_class=OffloadedJsonRoute)
RulesetId = Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
Revision = Path(pattern=r"^[0-9a-f]{12}$", description="the first 12 hex digits of the digest")


def _summary(row: RulesetRevisionRow) -> dict[str, Any]:
    active = None
    if row.active_from_year is not None:
        active = {"from_year": row.active_from_year, "to_year": row.active_to_year}

    def when(value: Any) -> Any:
        return as_utc(value) if value is not None else None

    return {
        "ruleset_id": row.ruleset_id,
        "revision": row.revision,
        "digest": row.digest,
        "subject": row.subject,
        "state": row.state,
        "file_years": {"from_year": row.file_from_year, "to_year": row.file_to_year},
        "active_years": active,
        "created_by": row.created_by,
        "created_at": when(row.created_at),
        "proposed_by": row.proposed_by,
        "proposed_at": when(row.proposed_at),
        "approved_by": row.approved_by,
        "approved_at": when(row.approved_at),
        "activated_by": row.activated_by,
        "activated_at": when(row.activated_at),
        "retired_by": row.retired_by,
        "retired_at": when(row.retired_at),
        "warnings": json.loads(row.warnings_json),
    }


@router.get("/v1/rulesets", response_model=RulesetList)
def list_rulesets(state: State, _: RULESET_READERS) -> RulesetList:
    items = [
        {
            "id": o.id,
            "revisions": o.revisions,
            "active": [
                {"revision": a.revision, "digest": a.digest, "from_year": a.years.from_year, "to_year": a.years.to_year}
                for a in o.active
            ],
        }
        for o in service.overview(state)
    ]
    return RulesetList.model_validate({"items": items})


@router.get("/v1/rulesets/{ruleset_id}/revisions", response_model=RevisionList)
def list_revisions(state: State, _: RULESET_READERS, ruleset_id: str = RulesetId) -> RevisionList:
    rows = service.list_revisions(state.db, ruleset_id)
    return RevisionList.model_validate({"items": [_summary(r) for r in rows]})


def upload_revision(body: RevisionUpload, state: State, actor: MAINTAINERS, ruleset_id: str = RulesetId) -> Any:
    """Upload a revision, checked like ``validate``: errors → 422 ``invalid_ruleset``; warnings returned.

    Served by ``POST /v1/rulesets/{id}/revisions`` in forms.py, which takes files or parameter changes.
    """
    row = service.upload(
        state.db, state.settings.audit_secret, actor, ruleset_id, body.files, body.reason, draft=body.draft
    )
    return _summary(row)


@router.get("/v1/rulesets/{ruleset_id}/revisions/{revision}", response_model=RevisionDetail)
def get_revision(state: State, _: RULESET_READERS, ruleset_id: str = RulesetId, revision: str = Revision) -> Any:
    row = service.get_revision(state.db, ruleset_id, revision)
    return {**_summary(row), "content": service.content_of(row)}


@router.post("/v1/rulesets/{ruleset_id}/revisions/{revision}/propose", response_model=RevisionSummary)
def propose_revision(
    body: Transition, state: State, actor: MAINTAINERS, ruleset_id: str = RulesetId, revision: str = Revision
) -> Any:
    """draft → proposed, or retired → proposed (rollback)."""
    row = service.propose(state.db, state.settings.audit_secret, actor, ruleset_id, revision, body.reason)
    return _summary(row)


@router.post("/v1/rulesets/{ruleset_id}/revisions/{revision}/activate", response_model=RevisionSummary)
def activate_revision(
    body: Activation, state: State, actor: APPROVERS, ruleset_id: str = RulesetId, revision: str = Revision
) -> Any:
    """approved → active for fiscal years; 409 ``effective_years_overlap`` naming the other revision."""
    years: dict[str, Any] = {k: getattr(body, k) for k in ("from_year", "to_year") if k in body.model_fields_set}
    row = service.activate(
        state.db,
        state.settings.audit_secret,
        actor,
        ruleset_id,
        revision,
        body.reason,
        years=years,
        replaces=body.replaces,
    )
    state.engines.refresh()
    return _summary(row)


@router.post("/v1/rulesets/{ruleset_id}/revisions/{revision}/retire", response_model=RevisionSummary)
def retire_revision(
    body: Transition, state: State, actor: APPROVERS, ruleset_id: str = RulesetId, revision: str = Revision
) -> Any:
    row = service.retire(state.db, state.settings.audit_secret, actor, ruleset_id, revision, body.reason)
    state.engines.refresh()
    return _summary(row)


@router.post("/v1/rulesets/{ruleset_id}/revisions/{revision}/impact", response_model=dict[str, Any])
def impact_of_revision(
    body: JsonObject,
    state: State,
    _: IMPACT_PREVIEWERS,
    ruleset_id: str = RulesetId,
    revision: str = Revision,
    against: str | None = Query(default=None, pattern=r"^[0-9a-f]{12}$"),
) -> Any:
    """Run the active revision and this one on a dataset (``{dataset_id, …}``) or an inline request."""
    return service.impact_preview(state, ruleset_id, revision, body, against)


@router.post("/v1/disclosure-reviews", response_model=dict[str, Any])
def create_disclosure_review(body: JsonObject, state: State, actor: COMPILERS, response: Response) -> Any:
    """Review department disclosures (``disclosure-compliance``, the revision active for the year); audited."""
    result, seq = service.review_and_record(state, actor, body)
    response.headers["X-Audit-Seq"] = str(seq)
    return result
