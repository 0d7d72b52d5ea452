"""The errors a use case raises, each with a stable machine code; adapters map them in one table each.

    BudgetRulesError (service.domain.errors)
    ├── InvalidInput, InvalidPolicy, UnknownRuleset, EngineFailure    (domain core)
    └── AppError                      code
        ├── NotFound                  not_found            the named thing does not exist (or is not yours)
        ├── Conflict                  conflict             the state does not allow it (precise code optional)
        ├── Forbidden                 forbidden            the person's role or duty does not allow it
        ├── Unauthenticated           unauthenticated      no valid credentials
        ├── TooLarge                  payload_too_large    a user-controlled size is over its bound
        └── Unavailable               unavailable          a dependency (the database) is down; try again

Messages are for people; ``details`` carry located problems (``{"loc": [...], "message": ...}``).
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
    code = "unavailable"
