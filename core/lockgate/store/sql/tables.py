"""Tables of the tracking store, as SQLAlchemy Core tables on one ``metadata``.

Rows stay here; the store turns them into ``lockgate.entities`` before they leave.
Times are integer milliseconds since the epoch. Metric values that are NaN are stored as
``is_nan=True`` with value 0, because SQLite turns a NaN REAL into NULL.
Core ``Table`` objects rather than ORM classes: the store only ever runs Core statements, and
building mapped classes cost every server start about 15% of its CPU (docs/performance.md).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "DatasetTable",
    "ExperimentTable",
    "ExperimentTagTable",
    "LatestMetricTable",
    "MetricBlockTable",
    "MetricTable",
    "ParamTable",
    "RunInputTable",
    "RunTable",
    "RunTagTable",
    "metadata",
]

metadata = MetaData()
"""Every Lockgate table (tracking, registry, server, webhooks): what migrations are compared with."""

_KEY = 250
# Params and tags are indexed on key only: PostgreSQL b-tree entries cannot hold values of
# several kB, and MLflow allows params of 6,000 and tags of 8,000 characters.


def _run_fk() -> Column:  # type: ignore[type-arg]
    return Column(
        "run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True, nullable=False
    )


ExperimentTable = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(500), nullable=False, unique=True),
    Column("artifact_location", Text, nullable=False),
    Column("lifecycle_stage", String(32), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    Column("deleted_time", BigInteger),
)

ExperimentTagTable = Table(
    "experiment_tags",
    metadata,
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(_KEY), primary_key=True),
    Column("value", Text, nullable=False),
)

RunTable = Table(
    "runs",
    metadata,
    Column("run_uuid", String(32), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("user_id", String(256), nullable=False),
    Column("status", String(20), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger),
    Column("lifecycle_stage", String(20), nullable=False),
    Column("artifact_uri", Text, nullable=False),
    Column("parent_run_id", String(32)),
    Column("deleted_time", BigInteger),
    Index("ix_runs_experiment_start", "experiment_id", "lifecycle_stage", "start_time"),
    Index("ix_runs_parent", "parent_run_id"),
)

ParamTable = Table(
    "params",
    metadata,
    _run_fk(),
    Column("key", String(_KEY), primary_key=True),
    Column("value", String(6000), nullable=False),
    Index("ix_params_key", "key"),
)

MetricTable = Table(
    "metrics",
    metadata,
    Column("id", Integer().with_variant(BigInteger(), "postgresql"), primary_key=True, autoincrement=True),
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(_KEY), nullable=False),
    Column("value", Float, nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Index("ix_metrics_run_key_step", "run_uuid", "key", "step", "timestamp"),
)
"""Every logged point: the full history."""

LatestMetricTable = Table(
    "latest_metrics",
    metadata,
    _run_fk(),
    Column("key", String(_KEY), primary_key=True),
    Column("value", Float, nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    # Covering for search by a metric: the value walk never visits the table (0008_perf_scale).
    Index("ix_latest_metrics_key_value", "key", "value", "is_nan", "run_uuid"),
)
"""The value at the highest step (then latest timestamp) per run and key, for fast search."""

MetricBlockTable = Table(
    "metric_blocks",
    metadata,
    _run_fk(),
    Column("key", String(_KEY), primary_key=True),
    Column("block", BigInteger, primary_key=True, autoincrement=False),
    Column("points", BigInteger, nullable=False),
    Column("min_step", BigInteger, nullable=False),
    Column("max_step", BigInteger, nullable=False),
    Column("low_value", Float),
    Column("low_step", BigInteger),
    Column("low_timestamp", BigInteger),
    Column("high_value", Float),
    Column("high_step", BigInteger),
    Column("high_timestamp", BigInteger),
    # On SQLite the rows live in the primary key's B-tree: a chart's block read is one range scan.
    sqlite_with_rowid=False,
)
"""Per run, key and block of 128 steps (``block = step >> 7``): how many points it holds,
its step range, and its lowest and highest non-NaN point (ties to the earliest step, then
timestamp); NULL extremes when every point is NaN. Kept with the points on every write
(``store/sql/metric_blocks.py``) so a chart of a long series reads blocks, not points."""

RunTagTable = Table(
    "tags",
    metadata,
    _run_fk(),
    Column("key", String(_KEY), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_tags_key", "key"),
)

DatasetTable = Table(
    "datasets",
    metadata,
    Column("dataset_uuid", String(32), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("digest", String(36), nullable=False),
    Column("source_type", String(36), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text),
    Column("profile", Text),
    UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_exp_name_digest"),
)

RunInputTable = Table(
    "run_inputs",
    metadata,
    _run_fk(),
    Column("dataset_uuid", String(32), ForeignKey("datasets.dataset_uuid", ondelete="CASCADE"), primary_key=True),
    Column("tags_json", Text, nullable=False),
)
"""A run's use of a dataset; ``tags_json`` holds input tags such as the context."""
