"""PostgreSQL: the large JSON texts of decisions and audit records are compressed with lz4, not pglz (issue 16).

A 1,000-line recommendation writes its input (0.2 MB) and result (1 MB) twice, in the audit record and
in the decision row. PostgreSQL compresses such values when it moves them out of line (TOAST), by default
with pglz: measured on this kind of machine, the two inserts of one such decision took 100-108 ms with
pglz and 24-28 ms with lz4, and lz4 stored them in less space (251 against 383 KiB a row). Only values
written from now on are affected; rows already stored stay readable as they are. The text is the same
characters either way: the chain hashes and the replay comparisons do not change.

Applied only where it exists: PostgreSQL 14 or later built with lz4 (``default_toast_compression`` lists
it). SQLite and older servers are left as they are.

Revision ID: 0008_lz4_texts
Revises: 0007_pages
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_lz4_texts"
down_revision = "0007_pages"
branch_labels = None
depends_on = None

LARGE_TEXTS = {
    "decisions": ("input_json", "result_json"),
    "audit_records": ("input_json", "result_json"),
    "datasets": ("data_json",),
    "simulation_jobs": ("scenario_json", "result_json"),
}


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    choices = bind.execute(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar_one_or_none()
    return choices is not None and "lz4" in choices


def _set_compression(method: str) -> None:
    if not _lz4_available():
        return
    for table, columns in LARGE_TEXTS.items():
        clauses = ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}" for column in columns)
        op.execute(f"ALTER TABLE {table} {clauses}")


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")
