"""Per-block min/max of every metric series (``metric_blocks``), filled from the points already
stored, so a chart of a 1,000,000-point series reads ~8,000 rows instead of every point.

The backfill is one set-based ``INSERT ... SELECT``: it ranks the points of each 128-step block
twice (lowest and highest value, ties to the earliest step then timestamp), so it sorts the
metrics table twice; expect about a minute per 10,000,000 points, during which writes wait.
The SQL is kept here as written (not imported) so this revision means the same thing later.

Revision ID: 0010_metric_blocks
Revises: 0009_registry_tag_values
Create Date: 2026-12-07 23:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_metric_blocks"
down_revision = "0009_registry_tag_values"
branch_labels = None
depends_on = None

_BACKFILL = """
INSERT INTO metric_blocks (run_uuid, key, block, points, min_step, max_step, low_value, low_step, low_timestamp,
                           high_value, high_step, high_timestamp)
SELECT run_uuid, key, block, count(*), min(step), max(step),
       max(CASE WHEN lo_rank = 1 AND NOT is_nan THEN value END),
       max(CASE WHEN lo_rank = 1 AND NOT is_nan THEN step END),
       max(CASE WHEN lo_rank = 1 AND NOT is_nan THEN timestamp END),
       max(CASE WHEN hi_rank = 1 AND NOT is_nan THEN value END),
       max(CASE WHEN hi_rank = 1 AND NOT is_nan THEN step END),
       max(CASE WHEN hi_rank = 1 AND NOT is_nan THEN timestamp END)
FROM (SELECT run_uuid, key, step >> 7 AS block, step, timestamp, value, is_nan,
             row_number() OVER (PARTITION BY run_uuid, key, step >> 7, is_nan
                                ORDER BY value, step, timestamp) AS lo_rank,
             row_number() OVER (PARTITION BY run_uuid, key, step >> 7, is_nan
                                ORDER BY value DESC, step, timestamp) AS hi_rank
      FROM metrics) AS p
GROUP BY run_uuid, key, block
"""


def upgrade() -> None:
    op.create_table(
        "metric_blocks",
        sa.Column("run_uuid", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("block", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("min_step", sa.BigInteger(), nullable=False),
        sa.Column("max_step", sa.BigInteger(), nullable=False),
        sa.Column("low_value", sa.Float(), nullable=True),
        sa.Column("low_step", sa.BigInteger(), nullable=True),
        sa.Column("low_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("high_value", sa.Float(), nullable=True),
        sa.Column("high_step", sa.BigInteger(), nullable=True),
        sa.Column("high_timestamp", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["run_uuid"], ["runs.run_uuid"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_uuid", "key", "block"),
        sqlite_with_rowid=False,
    )
    op.execute(sa.text(_BACKFILL))


def downgrade() -> None:
    op.drop_table("metric_blocks")
