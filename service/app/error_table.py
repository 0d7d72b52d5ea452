"""How every error looks at each boundary, declared once: its HTTP status and its command-line exit status.

The HTTP adapter (``service/api/errors.py``) and the pages (``service/web``) take the status from
:data:`HTTP_STATUS`; the command lines (``service/cli.py``, ``service/lifecycle/cli.py``) take the exit
status from :data:`EXIT_STATUS`. A class not listed takes the entry of its nearest listed base class.
Adding an error class means adding one line to each table (tests/api/test_errors.py checks that every
class of :mod:`service.app.errors` is listed).
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from service.app.errors import (
    AppError,
    BudgetRulesError,
    Conflict,
    EngineFailure,
    Forbidden,
    InvalidInput,
    InvalidJson,
    InvalidPolicy,
    NotFound,
    TooLarge,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
    UnknownRuleset,
    Unprocessable,
)
from service.io.readers import InputFileError

ErrorTable = dict[type[Exception], int]

HTTP_STATUS: ErrorTable = {
    InvalidInput: 422,  # every problem, each with its loc
    InputFileError: 422,  # every problem in an uploaded file
    UnknownRuleset: 422,
    InvalidPolicy: 500,  # the server's own policy files are wrong
    EngineFailure: 500,
    BudgetRulesError: 500,
    Unprocessable: 422,
    InvalidJson: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    TooManyRequests: 429,
    Unavailable: 503,
    AppError: 500,
    OperationalError: 503,  # the database is unreachable
    DataError: 422,  # a number too large for the database
    OverflowError: 422,
    IntegrityError: 500,  # the database refused the write; nothing was committed
    DBAPIError: 503,  # unreachable, corrupt, schema gone: every other database failure
    # What is not wrapped by a Session: a driver error from a raw connection, the pool timing out,
    # a connection invalidated mid-transaction. Each is the database being unavailable, not the request.
    SQLAlchemyError: 503,
    sqlite3.Error: 503,
    psycopg.Error: 503,
}

EXIT_STATUS: ErrorTable = {
    InvalidInput: 2,
    InputFileError: 2,
    UnknownRuleset: 2,
    InvalidPolicy: 2,
    EngineFailure: 1,
    BudgetRulesError: 1,
    Unprocessable: 2,
    InvalidJson: 2,
    Unauthenticated: 1,
    Forbidden: 1,
    NotFound: 1,
    Conflict: 1,
    TooLarge: 2,
    TooManyRequests: 1,
    Unavailable: 1,
    AppError: 1,
    OperationalError: 1,
    DataError: 1,
    OverflowError: 1,
    IntegrityError: 1,
    DBAPIError: 1,
    SQLAlchemyError: 1,
    sqlite3.Error: 1,
    psycopg.Error: 1,
}


def lookup(table: ErrorTable, error: BaseException) -> int | None:
    """The entry for ``error``'s class or its nearest listed base class; None when it is not an error we know."""
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return None


def http_status(error: BaseException) -> int | None:
    return lookup(HTTP_STATUS, error)


def exit_status(error: BaseException) -> int | None:
    return lookup(EXIT_STATUS, error)
