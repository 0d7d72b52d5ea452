from __future__ import annotations

from typing import Any

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
    mismatches: list[dict[str, Any]] = []  # rows that differ from their audit records (service/integrity.py)
    mismatch_count: int = 0
