from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class RulesetRef(BaseModel):
    id: str
    revision: str
    digest: str


class DecisionSummary(BaseModel):
    decision_id: str
    created_at: datetime
    actor: dict[str, str]
    ruleset: RulesetRef
    fiscal_year: int
    envelope: str | None
    dataset_id: str | None
    audit_seq: int
    chain_hash: str


class Integrity(BaseModel):
    """Whether the stored row still matches its audit record (docs/api.md, "Integrity")."""

    matches_audit: bool
    audit_seq: int
    fields: list[str]
    problem: str | None = None


class DecisionDetail(DecisionSummary):
    input: dict[str, Any]
    result: dict[str, Any]
    integrity: Integrity


class DecisionPage(BaseModel):
    items: list[DecisionSummary]
    limit: int
    offset: int
    total: int


class Difference(BaseModel):
    loc: list[str | int]
    recorded: Any = None
    replayed: Any = None


class ReplayReport(BaseModel):
    decision_id: str
    identical: bool
    ruleset: RulesetRef
    recorded_sha256: str
    replayed_sha256: str
    differences: list[Difference]
    integrity: Integrity
    audit_seq: int
