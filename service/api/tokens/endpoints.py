from __future__ import annotations

from fastapi import APIRouter, Response

from service.api.deps import ADMINS, State
from service.api.tokens.schemas import TokenCreate, TokenCreated
from service.api.tokens.service import create_token, revoke_token

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])


@router.post("", status_code=201, response_model=TokenCreated)
def create(body: TokenCreate, state: State, actor: ADMINS) -> TokenCreated:
    with state.db.transaction() as session:
        token = create_token(session, body.name, body.role, secret=state.settings.audit_secret, actor=actor)
    return TokenCreated(name=body.name, role=body.role, token=token)


@router.delete("/{name}", status_code=204)
def revoke(name: str, state: State, actor: ADMINS) -> Response:
    with state.db.transaction() as session:
        revoke_token(session, name, secret=state.settings.audit_secret, actor=actor)
    return Response(status_code=204)
