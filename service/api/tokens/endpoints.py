from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response

from service.api.deps import ADMINS, State
from service.api.offload import OffloadedJsonRoute
from service.api.tokens.schemas import TokenCreate, TokenCreated
from service.app.tokens import create_token, revoke_token
from service.storage.db import utc_now

router = APIRouter(prefix="/v1/tokens", tags=["tokens"], route_class=OffloadedJsonRoute)


@router.post("", status_code=201, response_model=TokenCreated)
def create(body: TokenCreate, state: State, actor: ADMINS) -> TokenCreated:
    expires_at = utc_now() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    with state.db.transaction() as session:
        token = create_token(
            session,
            body.name,
            body.role,
            secret=state.settings.audit_secret,
            actor=actor,
            expires_at=expires_at,
            user=body.user,
        )
    return TokenCreated(name=body.name, role=body.role, token=token, expires_at=expires_at)


@router.delete("/{name}", status_code=204)
def revoke(name: str, state: State, actor: ADMINS) -> Response:
    with state.db.transaction() as session:
        revoke_token(session, name, secret=state.settings.audit_secret, actor=actor)
    return Response(status_code=204)
