"""MLflow semantics: metrics linked to logged models, and the payload format of a webhook
(``lockgate``, or ``mlflow`` for webhooks created through MLflow's API).

Revision ID: 0006_compat_semantics
Revises: 0005_webhooks
Create Date: 2026-12-07 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_compat_semantics"
down_revision = "0005_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("payload_format", sa.String(length=16), nullable=False,
                                   server_default="lockgate"))
    op.create_table(
        "logged_model_metrics",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), autoincrement=True,
                  nullable=False),
        sa.Column("model_id", sa.String(length=40), nullable=False),
        sa.Column("run_uuid", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("is_nan", sa.Boolean(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("dataset_name", sa.String(length=500), nullable=True),
        sa.Column("dataset_digest", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["logged_models.model_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_uuid"], ["runs.run_uuid"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_id", "key", "timestamp", "step", "run_uuid", name="uq_logged_model_metrics_point"),
    )


def downgrade() -> None:
    op.drop_table("logged_model_metrics")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("payload_format")
