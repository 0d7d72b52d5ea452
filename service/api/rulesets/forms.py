"""Ruleset revisions from parameter changes, review and return with a comment (issue 15; docs/rulesets.md).

``POST /v1/rulesets/{id}/revisions`` takes either the files of a revision (``{"files", "reason", "draft"?}``,
as ``budget-rules ruleset propose`` sends them; handled by the upload endpoint) or parameter changes on a
base revision (``{"base", "parameters", "enabled"?, "reason", "propose"?}``: a new draft, no files).
This router is included before the ruleset router so one path serves both bodies.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from service.api.deps import APPROVERS, MAINTAINERS, RULESET_READERS, JsonObject, State
from service.api.offload import OffloadedJsonRoute
from service.api.rulesets.endpoints import get_revision, upload_revision
from service.api.rulesets.schemas import RevisionSummary, RevisionUpload, Transition
from service.app import errors as app_errors
from service.app import ruleset_forms as forms
from service.app import rulesets as service
from service.storage.db import as_utc

router = APIRouter(tags=["rulesets"], route_class=OffloadedJsonRoute)  # bodies parsed off the loop, 422 on bad bytes
RulesetId = Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
Revision = Path(pattern=r"^[0-9a-f]{12}$", description="the first 12 hex digits of the digest")


def summary(row: Any) -> dict[str, Any]:
    def when(value: Any) -> Any:
        return as_utc(value).isoformat() if value is not None else None

    return {
        "ruleset_id": row.ruleset_id,
        "revision": row.revision,
        "digest": row.digest,
        "state": row.state,
        "created_by": row.created_by,
        "created_at": when(row.created_at),
        "proposed_by": row.proposed_by,
        "proposed_at": when(row.proposed_at),
    }


@router.post("/v1/rulesets/{ruleset_id}/revisions", status_code=201, response_model=dict[str, Any])
def create_revision(actor: MAINTAINERS, state: State, body: JsonObject, ruleset_id: str = RulesetId) -> Any:
    """A revision from files (``files``) or from parameter changes on ``base`` (``parameters``, ``enabled``).

    Parameter values are in the parameter's own terms: a rate ``"0.15"``, a score ``70``, money ``"100000.00"``.
    Every problem names its place (``["parameters", "cut-inefficient", "cut_rate"]``) → 422; nothing stored.
    """
    if "files" in body:
        try:
            upload = RevisionUpload.model_validate(body)
        except ValidationError as error:
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in error.errors()]) from None
        return upload_revision(upload, state, actor, ruleset_id)
    unknown = sorted(set(body) - {"base", "parameters", "enabled", "reason", "propose"})
    if unknown:
        raise app_errors.InvalidInput([app_errors.Problem((k,), "unknown field") for k in unknown])
    propose = body.get("propose", False)
    if not isinstance(propose, bool):
        raise app_errors.InvalidInput([app_errors.Problem(("propose",), "must be true or false")])
    row = forms.create_from_parameters(state.db, state.settings.audit_secret, actor, ruleset_id, body, propose=propose)
    return {**summary(row), "base": body["base"]}


@router.post("/v1/rulesets/{ruleset_id}/revisions/{revision}/approve", response_model=RevisionSummary)
def approve_revision_by_person(
    body: Transition, state: State, actor: APPROVERS, ruleset_id: str = RulesetId, revision: str = Revision
) -> Any:
    """proposed → approved; 409 ``same_person`` when the approver is the person who made or proposed it."""
    service.approve(state.db, state.settings.audit_secret, actor, ruleset_id, revision, body.reason)
    detail = dict(get_revision(state, actor, ruleset_id, revision))
    detail.pop("content", None)
    return detail


@router.post("/v1/rulesets/{ruleset_id}/revisions/{revision}/return", response_model=dict[str, Any])
def return_revision(
    actor: APPROVERS, state: State, body: JsonObject, ruleset_id: str = RulesetId, revision: str = Revision
) -> Any:
    """proposed → returned (退回) with ``{"comment": "…"}``; 409 ``same_person`` for whoever made or proposed it."""
    unknown = sorted(set(body) - {"comment"})
    if unknown:
        raise app_errors.InvalidInput([app_errors.Problem((k,), "unknown field") for k in unknown])
    forms.return_revision(state.db, state.settings.audit_secret, actor, ruleset_id, revision, body.get("comment"))
    return forms.review(state.db, ruleset_id, revision).as_dict()


@router.get("/v1/rulesets/{ruleset_id}/revisions/{revision}/diff", response_model=dict[str, Any])
def diff_against_replaced(
    _: RULESET_READERS,
    state: State,
    ruleset_id: str = RulesetId,
    revision: str = Revision,
    against: str | None = Query(default=None, pattern=r"^[0-9a-f]{12}$"),
) -> Any:
    """What this revision changes against another (default: the revision it replaces, also after activation)."""
    against = against or forms.review(state.db, ruleset_id, revision).replaced
    return service.diff(state.engines, state.db, ruleset_id, revision, against)


@router.get("/v1/rulesets/{ruleset_id}/revisions/{revision}/review", response_model=dict[str, Any])
def review_revision(_: RULESET_READERS, state: State, ruleset_id: str = RulesetId, revision: str = Revision) -> Any:
    """Why it was made, the revision it replaces, what changes in business words, and a return's comment."""
    return forms.review(state.db, ruleset_id, revision).as_dict()


@router.get("/v1/rulesets/{ruleset_id}/history", response_model=dict[str, Any])
def ruleset_history(_: RULESET_READERS, state: State, ruleset_id: str = RulesetId) -> Any:
    """Every revision, newest first, with each step (who, when, why) from the audit records."""
    rows = forms.history(state.db, ruleset_id)
    return {
        "items": [
            {
                **summary(h.row),
                "replaces": h.replaced,
                "returned_comment": h.returned_comment,
                "steps": [{k: v for k, v in s.items() if k != "what"} for s in h.steps],
            }
            for h in rows
        ]
    }
