"""The OpenAPI document lists every error an operation can answer, each in the one error envelope.

FastAPI documents only the success status and its own 422 shape. :func:`install_openapi` adds, to
every operation under ``/v1/``:

    401  unauthenticated        no, unknown, revoked or expired token (checked before the body)
    403  forbidden              the token's role may not do this
    404  not_found              the named thing (decision, dataset, revision, job) does not exist
    409  conflict (or precise)  the state does not allow it           (operations that change state;
                                                                       GET /v1/audit/head: audit_tampered)
    413  payload_too_large      the body is over the limit            (operations with a body)
    400  http_error             a malformed multipart form, too many files or fields (uploads only)
    422  invalid_*              every problem, each with its location  (replaces FastAPI's shape)
    429  rate_limited           too many requests (Retry-After)
    503  database_unavailable   the database is unreachable (Retry-After)

``/healthz`` answers 200 only; ``/readyz`` 200 or 503 with its checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

ENVELOPE = "ErrorEnvelope"
ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "stable machine code, e.g. not_found"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"loc": {"type": "array"}, "message": {"type": "string"}},
                    },
                },
            },
        }
    },
}
DESCRIPTIONS = {
    "400": "http_error: the multipart form is malformed or has too many files or fields",
    "401": "unauthenticated: no, unknown, revoked or expired bearer token (checked before the body is read)",
    "403": "forbidden: the token's role may not do this",
    "404": "not_found: the named decision, dataset, revision or job does not exist",
    "409": "conflict: the current state does not allow it (the code says which)",
    "413": "payload_too_large: the request body is over the limit",
    "422": "invalid input: every problem, each with its location",
    "429": "rate_limited: too many requests from this caller (see Retry-After)",
    "503": "database_unavailable: the database is unreachable; try again (see Retry-After)",
}
CHANGES_STATE = {"post", "put", "patch", "delete"}
ALSO_CONFLICT = {("get", "/v1/audit/head")}  # audit_tampered: the head row is gone
READINESS = {
    "description": "not ready: the database or the engine is not available",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"status": {"type": "string"}, "checks": {"type": "object"}},
            }
        }
    },
}


def error_statuses(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses one operation can answer."""
    statuses = ["401", "403", "404", "422", "429", "503"]
    if method in CHANGES_STATE or (method, path) in ALSO_CONFLICT:
        statuses.append("409")
    if method in CHANGES_STATE or "requestBody" in operation:
        statuses.append("413")
    if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
        statuses.append("400")
    return sorted(statuses)


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the error responses (and the envelope component) to an OpenAPI document, in place."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components[ENVELOPE] = ENVELOPE_SCHEMA
    envelope_ref = {"$ref": f"#/components/schemas/{ENVELOPE}"}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if path == "/readyz":
                responses["503"] = READINESS
                continue
            if not path.startswith("/v1/"):
                responses.pop("422", None)
                continue
            for status in error_statuses(method, path, operation):
                responses[status] = {
                    "description": DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": envelope_ref}},
                }
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with every error response."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(original())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
