from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RevisionUpload(_Body):
    """The files of one revision, as ``budget-rules ruleset propose DIR`` sends them."""

    files: dict[str, str] = Field(
        description='{"rulesets/<id>.yaml": YAML text, "policies/<policy>.yaml": YAML text, …}', max_length=200
    )
    reason: str = Field(min_length=1, max_length=2000, description="why (recorded in the audit trail)")
    draft: bool = Field(default=False, description="store as a draft instead of proposing it at once")


class Transition(_Body):
    reason: str = Field(min_length=1, max_length=2000, description="why (recorded in the audit trail)")


class Activation(Transition):
    from_year: int | None = Field(default=None, ge=2000, le=2100, description="default: the file's from_year")
    to_year: int | None = Field(default=None, ge=2000, le=2100, description="default: the file's; null: onwards")
    replaces: list[str] = Field(default_factory=list, description="active revisions retired in the same step")


class Years(BaseModel):
    from_year: int
    to_year: int | None


class RevisionSummary(BaseModel):
    ruleset_id: str
    revision: str
    digest: str
    subject: str
    state: str
    file_years: Years
    active_years: Years | None
    created_by: str
    created_at: datetime
    proposed_by: str | None
    proposed_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    activated_by: str | None
    activated_at: datetime | None
    retired_by: str | None
    retired_at: datetime | None
    warnings: list[dict[str, Any]]


class RevisionDetail(RevisionSummary):
    content: dict[str, Any]


class RevisionList(BaseModel):
    items: list[RevisionSummary]


class ActiveRevisionOut(BaseModel):
    revision: str
    digest: str
    from_year: int
    to_year: int | None


class RulesetOut(BaseModel):
    id: str
    active: list[ActiveRevisionOut]
    revisions: int


class RulesetList(BaseModel):
    items: list[RulesetOut]
