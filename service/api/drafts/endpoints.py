"""``/v1/drafts``: create a draft from a recorded recommendation, adjust lines with reasons, submit,
approve or return, the deviation report, replay and verify; ``/v1/compare``: two drafts or two
recommendations. Thin adapters over :mod:`service.app.drafts`; its errors map to the HTTP envelope here.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from service.api.deps import JsonObject, State, require
from service.app import draft_exports, drafts
from service.audit import Actor
from service.storage.db import as_utc

router = APIRouter(tags=["drafts"])

Makers = Annotated[Actor, Depends(require(*drafts.MAKERS))]
Checkers = Annotated[Actor, Depends(require(*drafts.CHECKERS))]
Readers = Annotated[Actor, Depends(require(*drafts.READERS))]
XLSX = draft_exports.XLSX_MEDIA_TYPE
DraftId = Annotated[str, Query(max_length=36)]


@router.post("/v1/drafts", status_code=201, response_model=dict[str, Any])
def create_draft(state: State, actor: Makers, body: JsonObject) -> Any:
    """A new draft (编制方案) of a recorded recommendation: ``{decision_id, name, previous_id?}``."""
    draft = drafts.create_draft(
        state.db,
        state.settings.audit_secret,
        actor,
        body.get("decision_id"),
        body.get("name"),
        body.get("previous_id"),
    )
    return drafts.draft_json(draft)


@router.get("/v1/drafts", response_model=dict[str, Any])
def list_drafts(
    state: State,
    actor: Readers,
    decision_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=drafts.MAX_LIST)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Any:
    rows, total = drafts.list_drafts(state.db, actor, limit, offset, decision_id)
    items = [
        {
            "draft_id": r.id,
            "name": r.name,
            "decision_id": r.decision_id,
            "version": r.version,
            "state": r.state,
            "fiscal_year": r.fiscal_year,
            "created_at": as_utc(r.created_at).isoformat(),
            "created_by": r.created_by,
            "final_total": r.final_total,
        }
        for r in rows
    ]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/v1/drafts/verify", response_model=dict[str, Any])
def verify_drafts(state: State, actor: Readers) -> Any:
    """Every draft's figures replayed from its recommendation and the audit trail."""
    bad = drafts.verify(state.db, actor)
    return {"ok": not bad, "problems": [drafts.replay_json(r) for r in bad]}


@router.get("/v1/drafts/{draft_id}", response_model=dict[str, Any])
def get_draft(state: State, actor: Readers, draft_id: str) -> Any:
    return drafts.draft_json(drafts.get_draft(state.db, actor, draft_id))


@router.put("/v1/drafts/{draft_id}/lines/{project_id}", response_model=dict[str, Any])
def adjust_line(state: State, actor: Makers, draft_id: str, project_id: str, body: JsonObject) -> Any:
    """人工调整 of one line: ``{amount, reason}`` (the reason is required; the amount is exact money ≥ 0)."""
    draft = drafts.adjust(
        state.db, state.settings.audit_secret, actor, draft_id, project_id, body.get("amount"), body.get("reason")
    )
    return drafts.draft_json(draft)


@router.patch("/v1/drafts/{draft_id}/lines/{project_id}", response_model=dict[str, Any])
def adjust_line_patch(state: State, actor: Makers, draft_id: str, project_id: str, body: JsonObject) -> Any:
    """The same as PUT: one line's final amount with its reason."""
    return adjust_line(state, actor, draft_id, project_id, body)


@router.post("/v1/drafts/{draft_id}/submit", response_model=dict[str, Any])
def submit(state: State, actor: Makers, draft_id: str) -> Any:
    """提交审核; 409 ``over_envelope`` (saying by how much) while the final total exceeds the envelope."""
    return drafts.draft_json(drafts.submit(state.db, state.settings.audit_secret, actor, draft_id))


@router.post("/v1/drafts/{draft_id}/approve", response_model=dict[str, Any])
def approve(state: State, actor: Checkers, draft_id: str, body: JsonObject) -> Any:
    """审核通过 (``{comment?}``): the draft becomes final (定稿); 403 ``same_person`` for its own maker."""
    draft = drafts.approve(state.db, state.settings.audit_secret, actor, draft_id, body.get("comment"))
    return drafts.draft_json(draft)


@router.post("/v1/drafts/{draft_id}/return", response_model=dict[str, Any])
def return_draft(state: State, actor: Checkers, draft_id: str, body: JsonObject) -> Any:
    """退回 with a required ``{comment}``: the compiler may edit and submit again."""
    draft = drafts.return_draft(state.db, state.settings.audit_secret, actor, draft_id, body.get("comment"))
    return drafts.draft_json(draft)


@router.get("/v1/drafts/{draft_id}/deviations", response_model=dict[str, Any])
def deviations(state: State, actor: Readers, draft_id: str) -> Any:
    """偏离建议清单: every line whose final amount differs, with reason, who, when and the policies; totals."""
    rows = drafts.deviation_report(state.db, actor, draft_id)
    return {"draft_id": draft_id, **drafts.deviation_json(rows)}


Unit = Annotated[str, Query(max_length=4, description="金额单位: 元 (default) or 万元")]


def _file(export: draft_exports.ExportFile) -> Response:
    return Response(
        export.data,
        media_type=export.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(export.filename)}",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/v1/drafts/{draft_id}/export.xlsx",
    response_class=Response,
    responses={200: {"description": "the Chinese workbook with sheet 偏离建议", "content": {XLSX: {}}}},
)
def export_xlsx(state: State, actor: Readers, draft_id: str, unit: Unit = "元") -> Response:
    """The draft as the Chinese workbook: the recommendation, sheet 偏离建议 with the final amounts."""
    return _file(draft_exports.export_draft(state.db, actor, draft_id, "xlsx", unit))


@router.get(
    "/v1/drafts/{draft_id}/budget.pdf",
    response_class=Response,
    responses={200: {"description": "the 编制说明 PDF with the deviation list", "content": {"application/pdf": {}}}},
)
def budget_pdf(state: State, actor: Readers, draft_id: str, unit: Unit = "元") -> Response:
    """The draft's 编制说明 PDF: the recommendation, the final amounts and the deviation list (偏离建议情况)."""
    return _file(draft_exports.export_draft(state.db, actor, draft_id, "pdf", unit))


@router.get("/v1/drafts/{draft_id}/replay", response_model=dict[str, Any])
def replay(state: State, actor: Readers, draft_id: str) -> Any:
    """复核重算: the draft's figures recomputed from its recommendation and its audit trail."""
    return drafts.replay_json(drafts.replay(state.db, actor, draft_id))


@router.get("/v1/compare/drafts", response_model=dict[str, Any])
def compare_drafts(state: State, actor: Readers, a: DraftId, b: DraftId) -> Any:
    """Two drafts' final amounts: the lines and totals that differ."""
    return drafts.comparison_json(drafts.compare_drafts(state.db, actor, a, b))


@router.get("/v1/compare/recommendations", response_model=dict[str, Any])
def compare_recommendations(state: State, actor: Readers, a: DraftId, b: DraftId) -> Any:
    """Two recorded recommendations' amounts: the lines and totals that differ."""
    return drafts.comparison_json(drafts.compare_decisions(state.db, actor, a, b))
