"""Liveness and readiness (no authentication)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.api.deps import State

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(state: State) -> Any:
    checks = {"database": "ok", "engine": "ok" if state.engines.loaded else "not loaded"}
    try:
        state.db.ping()
    except Exception as error:  # readiness reports any failure to reach the database
        checks["database"] = f"unreachable: {type(error).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )
