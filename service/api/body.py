"""Exact JSON request bodies (the parser is :func:`service.app.requests.parse_json_object`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from service.app.requests import parse_json_object


async def json_object_body(request: Request) -> dict[str, Any]:
    """FastAPI dependency: the body as an exact JSON object."""
    return parse_json_object(await request.body())
