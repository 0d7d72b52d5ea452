"""Dependencies shared by the endpoints: the worker's state and the authenticated actor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.api.authfirst import authenticated_actor
from service.api.body import json_object_body
from service.app import roles
from service.app.errors import Unauthenticated
from service.app.state import AppState
from service.app.tokens import authenticate
from service.audit import Actor

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer TOKEN")


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.budget_rules
    return state


State = Annotated[AppState, Depends(get_state)]
JsonObject = Annotated[dict[str, Any], Depends(json_object_body)]


def current_actor(
    request: Request, state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("missing bearer token (Authorization: Bearer TOKEN)")
    found = authenticated_actor(request.scope, credentials.credentials)  # by the middleware, moments ago
    if found is not None:
        return found
    with state.db.transaction() as session:
        return authenticate(session, credentials.credentials)


def require(*allowed: str) -> Callable[..., Actor]:
    """A dependency admitting only tokens whose role is one of ``allowed`` (:func:`service.app.roles.require`)."""

    def _dependency(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        return roles.require(actor, allowed)

    return _dependency


# Who may do what: the matrix of service/app/roles.py (documented in docs/api.md).
COMPILERS = Annotated[Actor, Depends(require(*roles.COMPILERS))]
DATASET_READERS = Annotated[Actor, Depends(require(*roles.DATASET_READERS))]
DECISION_READERS = Annotated[Actor, Depends(require(*roles.DECISION_READERS))]
AUDITORS = Annotated[Actor, Depends(require(*roles.AUDITORS))]
ADMINS = Annotated[Actor, Depends(require(*roles.ADMINS))]
MAINTAINERS = Annotated[Actor, Depends(require(*roles.MAINTAINERS))]
APPROVERS = Annotated[Actor, Depends(require(*roles.APPROVERS))]
RULESET_READERS = Annotated[Actor, Depends(require(*roles.RULESET_READERS))]
IMPACT_PREVIEWERS = Annotated[Actor, Depends(require(*roles.IMPACT_PREVIEWERS))]
SIMULATION_RUNNERS = Annotated[Actor, Depends(require(*roles.SIMULATION_RUNNERS))]
SIMULATION_READERS = Annotated[Actor, Depends(require(*roles.SIMULATION_READERS))]
