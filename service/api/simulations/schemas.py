from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class Progress(BaseModel):
    done: int
    total: int
    message: str | None


class Worker(BaseModel):
    pid: int | None
    host: str | None
    heartbeat_at: datetime | None


class SimulationSummary(BaseModel):
    job_id: str
    state: str  # queued | running | succeeded | failed
    scenario_id: str
    progress: Progress
    error: str | None
    created_by: dict[str, str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    worker: Worker
    audit_seq: int
    links: dict[str, str]


class SimulationDetail(SimulationSummary):
    scenario: dict[str, Any]


class SimulationPage(BaseModel):
    items: list[SimulationSummary]
    limit: int
    offset: int
    total: int
