"""Model versions: an optional idempotency key, unique per model.

Revision ID: 0004_version_idempotency
Revises: 0003_server
Create Date: 2026-12-01 22:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_version_idempotency"
down_revision = "0003_server"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("model_versions", sa.Column("idempotency_key", sa.String(length=255), nullable=True))
    op.create_index("ux_model_versions_idempotency", "model_versions", ["model_id", "idempotency_key"],
                    unique=True)


def downgrade() -> None:
    op.drop_index("ux_model_versions_idempotency", table_name="model_versions")
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("idempotency_key")
