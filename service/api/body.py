"""Exact JSON request bodies: decimals stay Decimal (never float), NaN/Infinity and duplicate keys refused."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi import Request

from service.api.errors import InvalidJson


class _NonFinite(ValueError):
    pass


class _DuplicateKey(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def parse_json_object(raw: bytes) -> dict[str, Any]:
    def fail(message: str) -> InvalidJson:
        return InvalidJson(message, details=[{"loc": ["body"], "message": message}])

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise fail(f"the body is not UTF-8 (byte {error.start})") from None
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as error:
        raise fail(f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    except _NonFinite as error:
        raise fail(f"{error} is not allowed: JSON numbers must be finite") from None
    except _DuplicateKey as error:
        raise fail(f"the key {error.args[0]!r} appears twice in the same object") from None
    except RecursionError:
        raise fail("JSON is nested too deeply") from None
    except ValueError as error:
        raise fail(f"invalid JSON number: {error}") from None
    if not isinstance(data, dict):
        raise fail("the body must be a JSON object")
    return data


async def json_object_body(request: Request) -> dict[str, Any]:
    """FastAPI dependency: the body as an exact JSON object (a large body parsed off the event loop)."""
    from service.api.offload import parse_off_loop

    return await parse_off_loop(await request.body(), parse_json_object)
