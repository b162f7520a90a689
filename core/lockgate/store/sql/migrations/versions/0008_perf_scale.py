"""Search by a metric reads the (key, value) index alone: it now also holds is_nan and run_uuid.

A filtered search ordered by a metric walks latest_metrics in value order and stops after one
page; with is_nan and run_uuid in the index, each step is an index read instead of a random
heap fetch (at 1,000,000 runs the heap fetches were most of the query's time). Rebuilding the
index reads latest_metrics once: about a minute per 10,000,000 rows, during which writes wait.

Revision ID: 0008_perf_scale
Revises: 0007_compat_validation
Create Date: 2026-12-07 20:20:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0008_perf_scale"
down_revision = "0007_compat_validation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value", "is_nan", "run_uuid"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"], unique=False)
