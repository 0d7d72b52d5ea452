"""The errors a use case raises, each with a stable machine code; adapters map them in one table each.

    BudgetRulesError (service.domain.errors)
    ├── InvalidInput, InvalidPolicy, UnknownRuleset, EngineFailure    (domain core)
    └── AppError                      code
        ├── NotFound                  not_found            the named thing does not exist (or is not yours)
        ├── Conflict                  conflict             the state does not allow it (precise code optional)
        ├── Forbidden                 forbidden            the person's role or duty does not allow it
        ├── Unauthenticated           unauthenticated      no valid credentials
        ├── TooLarge                  payload_too_large    a user-controlled size is over its bound
        ├── Unavailable               database_unavailable a dependency (the database) is down; try again
        ├── TooManyRequests           too_many_requests    a bounded resource is full; try again later
        └── Unprocessable             invalid_input        refused input, located in ``details`` (precise code optional)
            └── InvalidJson           invalid_json         a body or file that is not exact JSON (service.io.strictjson)

Messages are for people; ``details`` carry located problems (``{"loc": [...], "message": ...}``).
How each class looks at each boundary (HTTP status, CLI exit status) is declared once, in
:mod:`service.app.error_table`.
"""

from __future__ import annotations

from typing import Any

from service.domain.errors import BudgetRulesError, EngineFailure, InvalidInput, InvalidPolicy, Problem, UnknownRuleset

__all__ = [
    "AppError",
    "BudgetRulesError",
    "Conflict",
    "EngineFailure",
    "Forbidden",
    "InvalidInput",
    "InvalidPolicy",
    "NotFound",
    "Problem",
    "TooLarge",
    "Unauthenticated",
    "Unavailable",
    "UnknownRuleset",
]


class AppError(BudgetRulesError):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code:
            self.code = code


class NotFound(AppError):
    code = "not_found"


class Conflict(AppError):
    code = "conflict"


class Forbidden(AppError):
    code = "forbidden"


class Unauthenticated(AppError):
    code = "unauthenticated"


class TooLarge(AppError):
    code = "payload_too_large"


class Unavailable(AppError):
    code = "database_unavailable"


class TooManyRequests(AppError):
    code = "too_many_requests"


class Unprocessable(AppError):
    """Input refused with located ``details`` (dicts), when it is not a list of domain ``Problem``s."""

    code = "invalid_input"


class InvalidJson(Unprocessable):
    code = "invalid_json"


def problem_detail(problem: Problem) -> dict[str, Any]:
    """A located problem as the ``details`` entry every adapter shows: loc, message, record, source."""
    detail: dict[str, Any] = {"loc": list(problem.loc), "message": problem.message}
    if problem.record:
        detail["record"] = problem.record
    if problem.source:
        detail["source"] = problem.source
    return detail


__all__ += ["InvalidJson", "TooManyRequests", "Unprocessable", "problem_detail"]
