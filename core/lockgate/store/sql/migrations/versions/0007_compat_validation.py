"""Experiment names up to 500 characters, as in MLflow (the column was 256 wide).

Revision ID: 0007_compat_validation
Revises: 0006_compat_semantics
Create Date: 2026-12-07 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_compat_validation"
down_revision = "0006_compat_semantics"
branch_labels = None
depends_on = None


def _sqlite_declared_width(old: int, new: int) -> None:
    # SQLite does not enforce a VARCHAR width and stores the text the same either way, so only
    # the declared type changes. Rebuilding the table instead (Alembic's batch mode) would drop
    # it under the runs' foreign keys, which SQLite refuses while foreign keys are on; SQLite
    # documents editing the schema text for changes that leave the stored rows untouched.
    bind = op.get_bind()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'experiments'",
        (f"name VARCHAR({old})", f"name VARCHAR({new})"),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_declared_width(256, 500)
    else:
        op.alter_column("experiments", "name", existing_type=sa.String(length=256), type_=sa.String(length=500),
                        existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_declared_width(500, 256)
    else:
        op.alter_column("experiments", "name", existing_type=sa.String(length=500), type_=sa.String(length=256),
                        existing_nullable=False)
