"""Table models. These never leave the storage layer as API responses (see service/api/*/schemas.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


class DatasetRow(SQLModel, table=True):
    """An imported budget request (申报数据集), stored as canonical JSON."""

    __tablename__ = "datasets"

    id: str = Field(primary_key=True, max_length=36)
    created_at: datetime = Field(index=True)
    actor: str = Field(max_length=200)
    source: str = Field(max_length=500)
    digest: str = Field(max_length=80, index=True)
    fiscal_year: int | None = None
    departments: int
    projects: int
    data_json: str


class DecisionRow(SQLModel, table=True):
    """One recommendation (预算建议) with its input, result and the audit record that vouches for it."""

    __tablename__ = "decisions"

    id: str = Field(primary_key=True, max_length=36)
    created_at: datetime = Field(index=True)
    actor_name: str = Field(max_length=200, index=True)
    actor_role: str = Field(max_length=40)
    ruleset_id: str = Field(max_length=200, index=True)
    ruleset_revision: str = Field(max_length=200)
    ruleset_digest: str = Field(max_length=80)
    fiscal_year: int = Field(index=True)
    envelope: str | None = Field(default=None, max_length=40)  # money text, never a float
    dataset_id: str | None = Field(default=None, max_length=36)
    department_ids: str  # ",D01,D02," so a department filter is a LIKE
    input_json: str
    result_json: str
    audit_seq: int
    chain_hash: str = Field(max_length=64)


class AuditRecordRow(SQLModel, table=True):
    """One link of the audit chain (审计记录). Appended only; never updated or deleted by the app."""

    __tablename__ = "audit_records"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    recorded_at: str = Field(max_length=40)  # ISO-8601 UTC text: hashed exactly as stored
    actor_name: str = Field(max_length=200)
    actor_role: str = Field(max_length=40)
    action: str = Field(max_length=40)
    subject: str | None = Field(default=None, max_length=200)
    input_json: str
    result_json: str
    ruleset_id: str | None = Field(default=None, max_length=200)
    ruleset_revision: str | None = Field(default=None, max_length=200)
    ruleset_digest: str | None = Field(default=None, max_length=80)
    package_version: str = Field(max_length=40)
    engine_version: str = Field(max_length=40)
    prev_hash: str = Field(max_length=64)
    chain_hash: str = Field(max_length=64)


class AuditHeadRow(SQLModel, table=True):
    """The single row naming the chain's latest link: locked to serialize appends, and it reveals truncation."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int
    chain_hash: str = Field(max_length=64)


class TokenRow(SQLModel, table=True):
    """A bearer token (访问令牌): only its sha256 is kept."""

    __tablename__ = "tokens"

    name: str = Field(primary_key=True, max_length=100)
    role: str = Field(max_length=40)
    token_sha256: str = Field(max_length=64, unique=True)
    created_at: datetime
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))  # NULL: never expires
    owner: str | None = Field(default=None, max_length=100, index=True)  # the user it belongs to (users.name_key)
    created_by: str | None = Field(default=None, max_length=200)  # who minted it (NULL: before accounts)


class RulesetRevisionRow(SQLModel, table=True):
    """One immutable ruleset revision (规则集版本): the ruleset file and every bound policy, as canonical JSON.

    Content-addressed: ``revision`` is the first 12 hex digits of ``digest``. Only the lifecycle
    columns (state, who/when, the active year range) change after the row is written.
    """

    __tablename__ = "ruleset_revisions"

    ruleset_id: str = Field(primary_key=True, max_length=64)
    revision: str = Field(primary_key=True, max_length=12)
    digest: str = Field(max_length=80)
    subject: str = Field(max_length=40)
    state: str = Field(max_length=20, index=True)  # draft | proposed | approved | active | retired
    ruleset_json: str
    policies_json: str
    warnings_json: str
    file_from_year: int
    file_to_year: int | None = None
    active_from_year: int | None = None
    active_to_year: int | None = None
    created_at: datetime
    created_by: str = Field(max_length=100)
    proposed_by: str | None = Field(default=None, max_length=100)
    proposed_at: datetime | None = None
    approved_by: str | None = Field(default=None, max_length=100)
    approved_at: datetime | None = None
    activated_by: str | None = Field(default=None, max_length=100)
    activated_at: datetime | None = None
    retired_by: str | None = Field(default=None, max_length=100)
    retired_at: datetime | None = None


class RulesetActivationRow(SQLModel, table=True):
    """The single row counting activations and retirements: workers reload their active map when it moves."""

    __tablename__ = "ruleset_activation"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int


class SimulationJobRow(SQLModel, table=True):
    """One simulation job (模拟任务) started over HTTP: its scenario, state, progress, and when done its outputs.

    ``state``: queued → running → succeeded | failed. ``pid``/``host`` name the worker process and
    ``heartbeat_at`` its last sign of life: a job whose worker is gone (or silent for too long) is marked
    failed, never succeeded. Transitions are conditional updates, so a late worker cannot overwrite one.
    """

    __tablename__ = "simulation_jobs"

    id: str = Field(primary_key=True, max_length=36)
    created_at: datetime = Field(index=True)
    created_by: str = Field(max_length=200)
    created_role: str = Field(max_length=40)
    scenario_id: str = Field(max_length=64)
    scenario_json: str  # the scenario as submitted (dataset may be {"dataset_id": …})
    state: str = Field(max_length=20, index=True)  # queued | running | succeeded | failed
    progress_done: int = 0
    progress_total: int = 0
    progress_message: str | None = Field(default=None, max_length=200)
    error: str | None = None
    pid: int | None = None
    host: str | None = Field(default=None, max_length=255)
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    finished_at: datetime | None = None
    result_json: str | None = None
    report_html: str | None = None
    audit_seq: int = 0  # the simulation.start record
