"""Budget drafts (编制方案): drafts made from a recorded recommendation, line adjustments, transitions.

Revision ID: 0005_drafts
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_drafts"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_drafts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("decision_id", sa.String(36), nullable=False, index=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("previous_id", sa.String(36), nullable=True),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("fiscal_year", sa.Integer(), nullable=False, index=True),
        sa.Column("envelope", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_by_person", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.String(200), nullable=True),
        sa.Column("submitted_by_person", sa.String(200), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("approved_by_person", sa.String(200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("final_total", sa.String(40), nullable=True),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.UniqueConstraint("decision_id", "version", name="uq_draft_decision_version"),
    )
    op.create_table(
        "budget_draft_adjustments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("draft_id", sa.String(36), sa.ForeignKey("budget_drafts.id"), nullable=False, index=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("amount", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("adjusted_by", sa.String(200), nullable=False),
        sa.Column("adjusted_by_person", sa.String(200), nullable=False),
        sa.Column("adjusted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.UniqueConstraint("draft_id", "project_id", name="uq_draft_adjustment_line"),
    )
    op.create_table(
        "budget_draft_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("draft_id", sa.String(36), sa.ForeignKey("budget_drafts.id"), nullable=False, index=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("actor_role", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("budget_draft_events")
    op.drop_table("budget_draft_adjustments")
    op.drop_table("budget_drafts")
