"""Initial tables: datasets, decisions, audit records and head, tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(80), nullable=False, index=True),
        sa.Column("fiscal_year", sa.Integer(), nullable=True),
        sa.Column("departments", sa.Integer(), nullable=False),
        sa.Column("projects", sa.Integer(), nullable=False),
        sa.Column("data_json", sa.Text(), nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("actor_name", sa.String(200), nullable=False, index=True),
        sa.Column("actor_role", sa.String(40), nullable=False),
        sa.Column("ruleset_id", sa.String(200), nullable=False, index=True),
        sa.Column("ruleset_revision", sa.String(200), nullable=False),
        sa.Column("ruleset_digest", sa.String(80), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False, index=True),
        sa.Column("envelope", sa.String(40), nullable=True),
        sa.Column("dataset_id", sa.String(36), nullable=True),
        sa.Column("department_ids", sa.Text(), nullable=False),
        sa.Column("input_json", sa.Text(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_records",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("actor_role", sa.String(40), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200), nullable=True),
        sa.Column("input_json", sa.Text(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=False),
        sa.Column("ruleset_id", sa.String(200), nullable=True),
        sa.Column("ruleset_revision", sa.String(200), nullable=True),
        sa.Column("ruleset_digest", sa.String(80), nullable=True),
        sa.Column("package_version", sa.String(40), nullable=False),
        sa.Column("engine_version", sa.String(40), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "chain_hash": GENESIS}])
    op.create_table(
        "tokens",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("tokens", "audit_head", "audit_records", "decisions", "datasets"):
        op.drop_table(table)
