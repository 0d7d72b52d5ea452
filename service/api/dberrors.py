"""Every database failure becomes the 503 ``database_unavailable`` envelope, whatever raised it.

SQLAlchemy wraps what goes through a Session or Connection (``OperationalError``, mapped in
:mod:`service.api.errors`), but not everything does:

* a DB-API error straight from the driver (``sqlite3.Error``, ``psycopg.Error``), e.g. from a raw
  connection;
* SQLAlchemy's own errors that are not driver errors: the pool timing out while the database hangs
  (``sqlalchemy.exc.TimeoutError``), a connection invalidated mid-transaction (``PendingRollbackError``),
  ``DisconnectionError`` and the like.

Each answers 503 with ``Retry-After`` and is logged without its SQL parameters. Integrity and
range errors keep their own answers (500 ``storage_error``, 422 ``invalid_parameters``).
"""

from __future__ import annotations

import logging
import sqlite3

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from service.api.errors import envelope

log = logging.getLogger("budget_rules.api")

DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
MESSAGE = "the database is unreachable; try again later"


def unavailable() -> JSONResponse:
    return envelope(503, "database_unavailable", MESSAGE, headers={"Retry-After": "5"})


def install_database_error_handlers(app: FastAPI) -> None:
    async def _unavailable(_: Request, error: Exception) -> JSONResponse:
        log.error("database unavailable: %s", type(error).__name__)
        return unavailable()

    for kind in (*DRIVER_ERRORS, SQLAlchemyError):
        app.add_exception_handler(kind, _unavailable)
