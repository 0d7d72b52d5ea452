"""Large request bodies are parsed in a worker thread, never on the event loop.

A 20 MB JSON body takes about a second to parse; on the event loop that second stalls every other
client (``/healthz`` included). Bodies above :data:`OFFLOAD_BYTES` are parsed with
``anyio.to_thread.run_sync``; smaller ones inline (a thread hop costs more than they do).

* :func:`parse_off_loop` for the exact-JSON dependency (:mod:`service.api.body`);
* :class:`OffloadedJsonRoute` for routers whose endpoints take a pydantic body (FastAPI would call
  ``Request.json()`` on the loop): its requests parse JSON in a thread (the pattern of FastAPI's
  "custom Request and APIRoute class" documentation).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Request, Response
from fastapi.routing import APIRoute

OFFLOAD_BYTES = 64 * 1024
T = TypeVar("T")


async def parse_off_loop(raw: bytes, parse: Callable[[bytes], T]) -> T:
    """``parse(raw)``, in a worker thread when the body is large."""
    if len(raw) <= OFFLOAD_BYTES:
        return parse(raw)
    return await anyio.to_thread.run_sync(parse, raw)


def loads_for_fastapi(raw: bytes) -> Any:
    """``json.loads`` whose every failure is a ``JSONDecodeError``: FastAPI answers that with 422 (its
    other parse failures — bad UTF-8, nesting too deep, a number too long — became an undocumented 400)."""
    try:
        return json.loads(raw.decode("utf-8"))
    except json.JSONDecodeError:
        raise
    except UnicodeDecodeError as error:
        raise json.JSONDecodeError(f"the body is not UTF-8 (byte {error.start})", "", 0) from None
    except RecursionError:
        raise json.JSONDecodeError("JSON is nested too deeply", "", 0) from None
    except ValueError as error:
        raise json.JSONDecodeError(f"invalid JSON value: {error}", "", 0) from None


BODY_SCOPE_KEY = "budget_rules.body"
"""Where the raw body is kept in the ASGI scope, so the 422 handler can name line and column of a syntax error."""


class OffloadedJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            raw = await self.body()
            self.scope[BODY_SCOPE_KEY] = raw  # the error handler sees another Request object, not this one
            self._json = await parse_off_loop(raw, loads_for_fastapi)
        return self._json


class OffloadedJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await original(OffloadedJsonRequest(request.scope, request.receive))

        return handler
