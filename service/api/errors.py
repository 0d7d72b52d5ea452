"""The HTTP error tree and the ONE place every error becomes a response.

    error                              status  code
    ├── InvalidInput (domain)          422     invalid_input         every problem, each with its loc
    ├── InputFileError (io)            422     invalid_file          every problem in the uploaded file
    ├── UnknownRuleset (domain)        422     unknown_ruleset
    ├── InvalidPolicy (domain)         500     invalid_policy        the server's policy files are wrong
    ├── EngineFailure (domain)         500     engine_failure
    ├── ApiError                       (its own status and code)
    │   ├── InvalidJson                422     invalid_json
    │   ├── Unauthenticated            401     unauthenticated
    │   ├── Forbidden                  403     forbidden
    │   ├── NotFound                   404     not_found
    │   ├── Conflict                   409     conflict (or a more precise code)
    │   └── PayloadTooLarge            413     payload_too_large
    ├── RequestValidationError         422     invalid_parameters    query/path parameters
    ├── HTTPException (routing)        404/405 not_found / method_not_allowed
    ├── OperationalError (database)    503     database_unavailable
    ├── DataError, OverflowError       422     invalid_parameters    a number too large for the database
    └── other DBAPIError (database)    500     storage_error         nothing was committed

Envelope: ``{"error": {"code", "message", "details": [{"loc": [...], "message": ...}]}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.jsonpos import located_detail
from service.domain.errors import EngineFailure, InvalidInput, InvalidPolicy, Problem, UnknownRuleset
from service.io.readers import InputFileError

log = logging.getLogger("budget_rules.api")


class ApiError(Exception):
    status = 500
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code:
            self.code = code


class InvalidJson(ApiError):
    status, code = 422, "invalid_json"


class Unauthenticated(ApiError):
    status, code = 401, "unauthenticated"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


def envelope(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status, headers=headers)


def problem_detail(problem: Problem) -> dict[str, Any]:
    detail: dict[str, Any] = {"loc": list(problem.loc), "message": problem.message}
    if problem.record:
        detail["record"] = problem.record
    if problem.source:
        detail["source"] = problem.source
    return detail


def install_error_handlers(app: FastAPI) -> None:
    """Map every known error to the envelope; nothing expected becomes a bare 500."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, error: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        if error.status == 429:
            headers = {"Retry-After": "30"}
        return envelope(error.status, error.code, error.message, error.details, headers)

    @app.exception_handler(InvalidInput)
    async def _invalid_input(_: Request, error: InvalidInput) -> JSONResponse:
        details = [problem_detail(p) for p in error.problems]
        return envelope(422, error.code, f"the request has {len(details)} problem(s)", details)

    @app.exception_handler(InputFileError)
    async def _invalid_file(_: Request, error: InputFileError) -> JSONResponse:
        details = [{"loc": ["file"], "message": p} for p in error.problems]
        return envelope(422, "invalid_file", f"the uploaded file has {len(details)} problem(s)", details)

    @app.exception_handler(UnknownRuleset)
    async def _unknown_ruleset(_: Request, error: UnknownRuleset) -> JSONResponse:
        return envelope(422, error.code, str(error), [{"loc": ["ruleset"], "message": str(error)}])

    @app.exception_handler(InvalidPolicy)
    async def _invalid_policy(_: Request, error: InvalidPolicy) -> JSONResponse:
        log.error("policy files are invalid: %s", error)
        details = [problem_detail(p) for p in error.problems]
        return envelope(500, error.code, "the server's policy files are invalid", details)

    @app.exception_handler(EngineFailure)
    async def _engine_failure(_: Request, error: EngineFailure) -> JSONResponse:
        log.error("engine failure: %s", error)
        return envelope(500, error.code, f"the decision engine failed: {error}")

    @app.exception_handler(RequestValidationError)
    async def _parameters(request: Request, error: RequestValidationError) -> JSONResponse:
        body = getattr(request, "_body", b"")  # already read by FastAPI when the body was parsed
        details = [located_detail(e, body) for e in error.errors()]
        return envelope(422, "invalid_parameters", "invalid request parameters", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return envelope(error.status_code, codes.get(error.status_code, "http_error"), str(error.detail))

    @app.exception_handler(OperationalError)
    async def _database_down(_: Request, error: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", error)
        return envelope(
            503, "database_unavailable", "the database is unreachable; try again later", headers={"Retry-After": "5"}
        )

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _out_of_range(_: Request, error: Exception) -> JSONResponse:
        # e.g. ?offset=10**22: SQLite cannot bind it (OverflowError), PostgreSQL refuses it (DataError)
        log.warning("value out of the database's range: %s", type(error).__name__)
        message = "a value is out of the range the database can store; nothing was recorded"
        return envelope(422, "invalid_parameters", message, [{"loc": ["query"], "message": message}])

    @app.exception_handler(DBAPIError)
    async def _storage(_: Request, error: DBAPIError) -> JSONResponse:
        if isinstance(error, OperationalError):
            return await _database_down(_, error)
        log.error("storage error, transaction rolled back: %s", error)
        return envelope(500, "storage_error", "the database refused the write; nothing was recorded")
