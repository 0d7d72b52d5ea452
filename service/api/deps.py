"""Dependencies shared by the endpoints: the worker's state and the authenticated actor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.api.body import json_object_body
from service.api.errors import Forbidden, Unauthenticated
from service.app.state import AppState
from service.app.tokens import authenticate
from service.audit import Actor

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer TOKEN")


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.budget_rules
    return state


State = Annotated[AppState, Depends(get_state)]
JsonObject = Annotated[dict[str, Any], Depends(json_object_body)]


def current_actor(state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("missing bearer token (Authorization: Bearer TOKEN)")
    with state.db.transaction() as session:
        return authenticate(session, credentials.credentials)


def require(*roles: str) -> Callable[..., Actor]:
    """A dependency admitting only tokens whose role is one of ``roles``."""

    def _dependency(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if actor.role not in roles:
            raise Forbidden(f"role {actor.role!r} may not do this; allowed: {', '.join(roles)}")
        return actor

    return _dependency


# Who may do what (documented in docs/api.md).
COMPILERS = Annotated[Actor, Depends(require("compiler"))]
DATASET_READERS = Annotated[Actor, Depends(require("compiler", "analyst"))]
DECISION_READERS = Annotated[Actor, Depends(require("compiler", "auditor"))]
AUDITORS = Annotated[Actor, Depends(require("auditor"))]
ADMINS = Annotated[Actor, Depends(require("admin"))]

# Ruleset revisions (docs/rulesets.md): maintainers upload and propose, approvers approve, activate
# and retire (never their own proposal), every role but admin reads; disclosure reviews are COMPILERS.
MAINTAINERS = Annotated[Actor, Depends(require("maintainer"))]
APPROVERS = Annotated[Actor, Depends(require("approver"))]
RULESET_READERS = Annotated[Actor, Depends(require("maintainer", "approver", "auditor", "compiler", "analyst"))]
IMPACT_PREVIEWERS = Annotated[Actor, Depends(require("maintainer", "approver", "analyst"))]

# Simulation jobs (docs/simulations.md, "HTTP API"): analysts start them; analysts and auditors read them.
SIMULATION_RUNNERS = Annotated[Actor, Depends(require("analyst"))]
SIMULATION_READERS = Annotated[Actor, Depends(require("analyst", "auditor"))]
