"""The application layer's errors (:mod:`service.app.errors`) as HTTP responses in the one envelope.

AppError subclass       status  code (the error's own)
NotFound                404     not_found
Conflict                409     conflict, or a precise code (e.g. audit_tampered)
Forbidden               403     forbidden
Unauthenticated         401     unauthenticated        (with WWW-Authenticate: Bearer)
TooLarge                413     payload_too_large
Unavailable             503     database_unavailable   (with Retry-After)
any other AppError      422     its code
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from service.api.errors import envelope
from service.app.errors import AppError, Conflict, Forbidden, NotFound, TooLarge, Unauthenticated, Unavailable

STATUS: tuple[tuple[type[AppError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (Forbidden, 403),
    (Unauthenticated, 401),
    (TooLarge, 413),
    (Unavailable, 503),
)


def status_of(error: AppError) -> int:
    return next((status for kind, status in STATUS if isinstance(error, kind)), 422)


def install_app_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, error: AppError) -> JSONResponse:
        status = status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 503:
            return envelope(503, "database_unavailable", error.message, error.details, headers={"Retry-After": "5"})
        return envelope(status, error.code, error.message, error.details, headers)
