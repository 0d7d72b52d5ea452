from __future__ import annotations

from fastapi import APIRouter

from service import audit
from service.api.audit.schemas import AuditHead, AuditVerification
from service.api.deps import AUDITORS, State

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/verify", response_model=AuditVerification)
def verify(state: State, _: AUDITORS) -> AuditVerification:
    with state.db.transaction() as session:
        result = audit.verify(session, state.settings.audit_secret)
    return AuditVerification.model_validate(result.as_dict())


@router.get("/head", response_model=AuditHead)
def head(state: State, _: AUDITORS) -> AuditHead:
    with state.db.transaction() as session:
        h = audit.head(session)
    return AuditHead(count=h.count, seq=h.seq, chain_hash=h.chain_hash)
