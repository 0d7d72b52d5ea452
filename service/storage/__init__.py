"""Storage (存储): SQLModel tables, the database engine, transactions and Alembic migrations.

SQLite by default; PostgreSQL when ``BUDGET_RULES_DATABASE_URL`` is ``postgresql+psycopg://…``.
JSON documents are stored as canonical JSON text, money as two-decimal strings (never floats).
"""

from service.storage.db import Database, upgrade_database

__all__ = ["Database", "upgrade_database"]
