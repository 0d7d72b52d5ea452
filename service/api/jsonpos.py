"""Where a JSON syntax error is, as a person reads it: line and column, not a byte offset."""

from __future__ import annotations

from typing import Any


def located_detail(error: dict[str, Any], body: bytes) -> dict[str, Any]:
    """A validation detail; FastAPI's ``json_invalid`` (``loc = ["body", offset]``) gets line and column."""
    loc = list(error.get("loc", ()))
    message = str(error.get("msg", ""))
    if error.get("type") == "json_invalid" and len(loc) == 2 and isinstance(loc[1], int):
        offset = max(0, min(loc[1], len(body)))
        line = body.count(b"\n", 0, offset) + 1
        column = offset - (body.rfind(b"\n", 0, offset) + 1) + 1
        reason = (error.get("ctx") or {}).get("error") or message
        return {"loc": ["body"], "message": f"invalid JSON at line {line} column {column}: {reason}"}
    return {"loc": loc, "message": message}
