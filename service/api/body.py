"""Exact JSON request bodies (the parser is :func:`service.app.requests.parse_json_object`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from service.app.requests import parse_json_object


async def json_object_body(request: Request) -> dict[str, Any]:
    """FastAPI dependency: the body as an exact JSON object (a large body parsed off the event loop)."""
    from service.api.offload import parse_off_loop

    return await parse_off_loop(await request.body(), parse_json_object)
