"""Simulation jobs (模拟任务): start a scenario in its own process, watch it, fetch its result and report.

Roles: analysts start and read jobs; auditors read them (state, result, report) too.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from service.api.deps import SIMULATION_READERS, SIMULATION_RUNNERS, JsonObject, State
from service.api.simulations.schemas import SimulationDetail, SimulationPage, SimulationSummary
from service.app import simulations as service
from service.simulation.report import REPORT_CSP
from service.storage.db import as_utc
from service.storage.models import SimulationJobRow

router = APIRouter(prefix="/v1/simulations", tags=["simulations"])

_REQUEST_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "a scenario (schemas/scenario.schema.json, as JSON; the dataset may be "
                    '{"dataset_id": …}), or {"scenario": "<shipped scenario id>", "dataset"?: {…}}',
                }
            }
        },
    }
}


def _summary(row: SimulationJobRow) -> dict[str, Any]:
    base = f"/v1/simulations/{row.id}"
    return {
        "job_id": row.id,
        "state": row.state,
        "scenario_id": row.scenario_id,
        "progress": {"done": row.progress_done, "total": row.progress_total, "message": row.progress_message},
        "error": row.error,
        "created_by": {"name": row.created_by, "role": row.created_role},
        "created_at": as_utc(row.created_at),
        "started_at": as_utc(row.started_at) if row.started_at else None,
        "finished_at": as_utc(row.finished_at) if row.finished_at else None,
        "worker": {
            "pid": row.pid,
            "host": row.host,
            "heartbeat_at": as_utc(row.heartbeat_at) if row.heartbeat_at else None,
        },
        "audit_seq": row.audit_seq,
        "links": {"self": base, "result": f"{base}/result", "report": f"{base}/report"},
    }


def _detail(row: SimulationJobRow) -> SimulationDetail:
    return SimulationDetail.model_validate({**_summary(row), "scenario": json.loads(row.scenario_json)})


@router.post("", status_code=202, openapi_extra=_REQUEST_DOC, response_model=SimulationDetail)
async def start_simulation(actor: SIMULATION_RUNNERS, body: JsonObject, state: State, request: Request) -> Any:
    """Validate the scenario (422 naming every problem), record the job, start its worker; 202 + Location."""
    config = service.config_of(request.app.state)
    row = await run_in_threadpool(service.start, state, config, actor, body)
    detail = _detail(row)
    return JSONResponse(
        detail.model_dump(mode="json"), status_code=202, headers={"Location": f"/v1/simulations/{row.id}"}
    )


@router.get("", response_model=SimulationPage)
def list_simulations(
    state: State,
    _: SIMULATION_READERS,
    request: Request,
    job_state: Annotated[Literal["queued", "running", "succeeded", "failed"] | None, Query(alias="state")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SimulationPage:
    rows, total = service.list_jobs(state, service.config_of(request.app.state), job_state, limit, offset)
    items = [SimulationSummary.model_validate(_summary(r)) for r in rows]
    return SimulationPage(items=items, limit=limit, offset=offset, total=total)


@router.get("/{job_id}", response_model=SimulationDetail)
def get_simulation(job_id: str, state: State, _: SIMULATION_READERS, request: Request) -> SimulationDetail:
    return _detail(service.get_job(state, service.config_of(request.app.state), job_id))


@router.get("/{job_id}/result", response_model=dict[str, Any])
def get_result(job_id: str, state: State, _: SIMULATION_READERS, request: Request) -> Response:
    """The results document (as docs/simulations.md describes results.json); 409 until the job succeeded."""
    row = service.finished(state, service.config_of(request.app.state), job_id)
    return Response(content=row.result_json or "{}", media_type="application/json")


@router.get("/{job_id}/report", response_class=HTMLResponse)
def get_report(job_id: str, state: State, _: SIMULATION_READERS, request: Request) -> Response:
    """The self-contained HTML report; 409 until the job succeeded."""
    row = service.finished(state, service.config_of(request.app.state), job_id)
    headers = {"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff"}
    return HTMLResponse(content=row.report_html or "", headers=headers)
