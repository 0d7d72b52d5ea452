from __future__ import annotations

from pydantic import BaseModel


class AuditHead(BaseModel):
    count: int
    seq: int
    chain_hash: str


class AuditVerification(BaseModel):
    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None
