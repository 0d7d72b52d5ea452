"""Ruleset revisions and the activation counter.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ruleset_revisions",
        sa.Column("ruleset_id", sa.String(64), primary_key=True),
        sa.Column("revision", sa.String(12), primary_key=True),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("subject", sa.String(40), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("ruleset_json", sa.Text(), nullable=False),
        sa.Column("policies_json", sa.Text(), nullable=False),
        sa.Column("warnings_json", sa.Text(), nullable=False),
        sa.Column("file_from_year", sa.Integer(), nullable=False),
        sa.Column("file_to_year", sa.Integer(), nullable=True),
        sa.Column("active_from_year", sa.Integer(), nullable=True),
        sa.Column("active_to_year", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("proposed_by", sa.String(100), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_by", sa.String(100), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_by", sa.String(100), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    )
    counter = op.create_table(
        "ruleset_activation",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
    )
    op.bulk_insert(counter, [{"id": 1, "seq": 0}])


def downgrade() -> None:
    op.drop_table("ruleset_activation")
    op.drop_table("ruleset_revisions")
