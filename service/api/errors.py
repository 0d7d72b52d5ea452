"""The ONE place every error becomes an HTTP response: status from the table, body in one envelope.

The status of each error class is declared once, in :data:`service.app.error_table.HTTP_STATUS`
(the pages use the same table); this module only says what the envelope carries:

    error                              status  code
    ├── InvalidInput (domain)          422     invalid_input         every problem, each with its loc
    ├── InputFileError (io)            422     invalid_file          every problem in the uploaded file
    ├── UnknownRuleset (domain)        422     unknown_ruleset
    ├── InvalidPolicy (domain)         500     invalid_policy        the server's policy files are wrong
    ├── EngineFailure (domain)         500     engine_failure
    ├── AppError (service.app.errors)  (the table)  its own code   Unauthenticated 401, Forbidden 403,
    │                                                              NotFound 404, Conflict 409, TooLarge 413,
    │                                                              TooManyRequests 429, Unprocessable 422,
    │                                                              InvalidJson 422, Unavailable 503
    ├── RequestValidationError         422     invalid_parameters    query/path parameters (FastAPI)
    ├── HTTPException (routing)        404/405 not_found / method_not_allowed
    ├── OperationalError (database)    503     database_unavailable  (and every DBAPIError but integrity)
    ├── DataError, OverflowError       422     invalid_parameters    a number too large for the database
    └── IntegrityError (database)      500     storage_error         nothing was committed

Envelope: ``{"error": {"code", "message", "details": [{"loc": [...], "message": ...}]}}``.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.jsonpos import located_detail
from service.api.offload import BODY_SCOPE_KEY
from service.app.error_table import HTTP_STATUS, http_status
from service.app.errors import AppError, EngineFailure, InvalidInput, InvalidPolicy, UnknownRuleset, problem_detail
from service.io.readers import InputFileError

log = logging.getLogger("budget_rules.api")

# Headers that go with a status, whatever the error: how to authenticate, when to try again.
STATUS_HEADERS: dict[int, dict[str, str]] = {
    401: {"WWW-Authenticate": "Bearer"},
    429: {"Retry-After": "30"},
    503: {"Retry-After": "5"},
}


def envelope(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status, headers=headers)


def describe(error: BaseException) -> tuple[str, str, list[dict[str, Any]]]:
    """(code, message, details) of a known error: what its envelope says."""
    if isinstance(error, InvalidInput):
        details = [problem_detail(p) for p in error.problems]
        return error.code, f"the request has {len(details)} problem(s)", details
    if isinstance(error, InputFileError):
        details = [{"loc": ["file"], "message": p} for p in error.problems]
        return "invalid_file", f"the uploaded file has {len(details)} problem(s)", details
    if isinstance(error, UnknownRuleset):
        return error.code, str(error), [{"loc": ["ruleset"], "message": str(error)}]
    if isinstance(error, InvalidPolicy):
        log.error("policy files are invalid: %s", error)
        return error.code, "the server's policy files are invalid", [problem_detail(p) for p in error.problems]
    if isinstance(error, EngineFailure):
        log.error("engine failure: %s", error)
        return error.code, f"the decision engine failed: {error}", []
    if isinstance(error, AppError):
        return error.code, error.message, error.details
    if isinstance(error, DataError | OverflowError):
        # e.g. ?offset=10**22: SQLite cannot bind it (OverflowError), PostgreSQL refuses it (DataError)
        log.warning("value out of the database's range: %s", type(error).__name__)
        message = "a value is out of the range the database can store; nothing was recorded"
        return "invalid_parameters", message, [{"loc": ["query"], "message": message}]
    if isinstance(error, IntegrityError):
        log.error("storage error, transaction rolled back: %s", error)
        return "storage_error", "the database refused the write; nothing was recorded", []
    if isinstance(error, SQLAlchemyError | sqlite3.Error | psycopg.Error):
        # unreachable, corrupt, schema gone, pool timed out: not the request's fault (logged without parameters)
        log.error("database unavailable: %s", type(error).__name__)
        return "database_unavailable", "the database is unreachable; try again later", []
    return getattr(error, "code", "error"), str(error), []


def error_response(error: BaseException, headers: dict[str, str] | None = None) -> JSONResponse:
    status = http_status(error) or 500
    code, message, details = describe(error)
    return envelope(status, code, message, details, {**STATUS_HEADERS.get(status, {}), **(headers or {})} or None)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error of the table to the envelope; nothing expected becomes a bare 500."""

    async def _known(_: Request, error: Exception) -> JSONResponse:
        return error_response(error)

    for error_class in HTTP_STATUS:
        app.add_exception_handler(error_class, _known)

    @app.exception_handler(RequestValidationError)
    async def _parameters(request: Request, error: RequestValidationError) -> JSONResponse:
        # already read when the body was parsed: by this Request, or by an OffloadedJsonRequest (kept in the scope)
        body = bytes(request.scope.get(BODY_SCOPE_KEY) or getattr(request, "_body", None) or b"")
        details = [located_detail(e, body) for e in error.errors()]
        return envelope(422, "invalid_parameters", "invalid request parameters", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return envelope(error.status_code, codes.get(error.status_code, "http_error"), str(error.detail))
