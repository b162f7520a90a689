"""Registered-model and version tag values up to 100,000 characters, as in MLflow (they were 5000).

Revision ID: 0009_registry_tag_values
Revises: 0008_perf_scale
Create Date: 2026-12-07 21:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_registry_tag_values"
down_revision = "0008_perf_scale"
branch_labels = None
depends_on = None

_TABLES = ("registered_model_tags", "model_version_tags")


def _sqlite_declared_width(old: int, new: int) -> None:
    # As in 0007: SQLite does not enforce a VARCHAR width, so only the declared type changes
    # (a table rebuild would fight the foreign keys of the version tags).
    bind = op.get_bind()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    for table in _TABLES:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = ?",
            (f"value VARCHAR({old})", f"value VARCHAR({new})", table),
        )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _resize(old: int, new: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_declared_width(old, new)
        return
    for table in _TABLES:
        op.alter_column(table, "value", existing_type=sa.String(length=old), type_=sa.String(length=new),
                        existing_nullable=False)


def upgrade() -> None:
    _resize(5000, 100_000)


def downgrade() -> None:
    # Values longer than 5000 characters would not fit the old column: cut them first.
    for table in _TABLES:
        op.execute(sa.text(f"UPDATE {table} SET value = substr(value, 1, 5000) WHERE length(value) > 5000"))
    _resize(100_000, 5000)
