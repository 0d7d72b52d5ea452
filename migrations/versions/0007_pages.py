"""Notes on ruleset revisions (base, reason, return with comment) and saved what-if scenarios (issue 15).

Revision ID: 0007_pages
Revises: 0005_accounts
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_pages"
down_revision = "0005_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ruleset_revision_notes",
        sa.Column("ruleset_id", sa.String(64), primary_key=True),
        sa.Column("revision", sa.String(12), primary_key=True),
        sa.Column("base_revision", sa.String(12), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_person", sa.String(200), nullable=True),
        sa.Column("proposed_person", sa.String(200), nullable=True),
        sa.Column("returned_by", sa.String(200), nullable=True),
        sa.Column("returned_person", sa.String(200), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_comment", sa.Text(), nullable=True),
    )
    op.create_table(
        "saved_scenarios",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("document_json", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("saved_scenarios")
    op.drop_table("ruleset_revision_notes")
