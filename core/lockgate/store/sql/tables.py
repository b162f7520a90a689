"""SQLModel tables of the tracking store.

Rows stay here; the store turns them into ``lockgate.entities`` before they leave.
Times are integer milliseconds since the epoch. Metric values that are NaN are stored as
``is_nan=True`` with value 0, because SQLite turns a NaN REAL into NULL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

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
    "core_table",
]

_KEY = 250
# Params and tags are indexed on key only: PostgreSQL b-tree entries cannot hold values of
# several kB, and MLflow allows params of 6,000 and tags of 8,000 characters.


def core_table(model: type[SQLModel]) -> Table:
    """The SQLAlchemy Core ``Table`` behind a SQLModel table class (hot paths use Core, not the ORM)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def _run_fk() -> Column:  # type: ignore[type-arg]
    return Column(
        String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True, nullable=False
    )


class ExperimentTable(SQLModel, table=True):
    __tablename__ = "experiments"

    experiment_id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    name: str = Field(sa_column=Column(String(500), nullable=False, unique=True))
    artifact_location: str = Field(sa_column=Column(Text, nullable=False))
    lifecycle_stage: str = Field(default="active", sa_column=Column(String(32), nullable=False))
    creation_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_update_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    deleted_time: int | None = Field(default=None, sa_column=Column(BigInteger))


class ExperimentTagTable(SQLModel, table=True):
    __tablename__ = "experiment_tags"

    experiment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), primary_key=True)
    )
    key: str = Field(sa_column=Column(String(_KEY), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))


class RunTable(SQLModel, table=True):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_experiment_start", "experiment_id", "lifecycle_stage", "start_time"),
        Index("ix_runs_parent", "parent_run_id"),
    )

    run_uuid: str = Field(sa_column=Column(String(32), primary_key=True))
    experiment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(sa_column=Column(String(250), nullable=False))
    user_id: str = Field(default="", sa_column=Column(String(256), nullable=False))
    status: str = Field(default="RUNNING", sa_column=Column(String(20), nullable=False))
    start_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    end_time: int | None = Field(default=None, sa_column=Column(BigInteger))
    lifecycle_stage: str = Field(default="active", sa_column=Column(String(20), nullable=False))
    artifact_uri: str = Field(default="", sa_column=Column(Text, nullable=False))
    parent_run_id: str | None = Field(default=None, sa_column=Column(String(32)))
    deleted_time: int | None = Field(default=None, sa_column=Column(BigInteger))


class ParamTable(SQLModel, table=True):
    __tablename__ = "params"
    __table_args__ = (Index("ix_params_key", "key"),)

    run_uuid: str = Field(sa_column=_run_fk())
    key: str = Field(sa_column=Column(String(_KEY), primary_key=True))
    value: str = Field(sa_column=Column(String(6000), nullable=False))


class MetricTable(SQLModel, table=True):
    """Every logged point: the full history."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_run_key_step", "run_uuid", "key", "step", "timestamp"),)

    id: int | None = Field(default=None, sa_column=Column(Integer().with_variant(BigInteger(), "postgresql"), primary_key=True, autoincrement=True))
    run_uuid: str = Field(
        sa_column=Column(String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False)
    )
    key: str = Field(sa_column=Column(String(_KEY), nullable=False))
    value: float = Field(nullable=False)
    is_nan: bool = Field(default=False, nullable=False)
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    step: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class LatestMetricTable(SQLModel, table=True):
    """The value at the highest step (then latest timestamp) per run and key, for fast search."""

    __tablename__ = "latest_metrics"
    # Covering for search by a metric: the value walk never visits the table (0008_perf_scale).
    __table_args__ = (Index("ix_latest_metrics_key_value", "key", "value", "is_nan", "run_uuid"),)

    run_uuid: str = Field(sa_column=_run_fk())
    key: str = Field(sa_column=Column(String(_KEY), primary_key=True))
    value: float = Field(nullable=False)
    is_nan: bool = Field(default=False, nullable=False)
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    step: int = Field(sa_column=Column(BigInteger, nullable=False))


class MetricBlockTable(SQLModel, table=True):
    """Per run, key and block of 128 steps (``block = step >> 7``): how many points it holds,
    its step range, and its lowest and highest non-NaN point (ties to the earliest step, then
    timestamp); NULL extremes when every point is NaN. Kept with the points on every write
    (``store/sql/metric_blocks.py``) so a chart of a long series reads blocks, not points."""

    __tablename__ = "metric_blocks"
    # On SQLite the rows live in the primary key's B-tree: a chart's block read is one range scan.
    __table_args__ = {"sqlite_with_rowid": False}

    run_uuid: str = Field(sa_column=_run_fk())
    key: str = Field(sa_column=Column(String(_KEY), primary_key=True))
    block: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    points: int = Field(sa_column=Column(BigInteger, nullable=False))
    min_step: int = Field(sa_column=Column(BigInteger, nullable=False))
    max_step: int = Field(sa_column=Column(BigInteger, nullable=False))
    low_value: float | None = Field(default=None, sa_column=Column(Float))
    low_step: int | None = Field(default=None, sa_column=Column(BigInteger))
    low_timestamp: int | None = Field(default=None, sa_column=Column(BigInteger))
    high_value: float | None = Field(default=None, sa_column=Column(Float))
    high_step: int | None = Field(default=None, sa_column=Column(BigInteger))
    high_timestamp: int | None = Field(default=None, sa_column=Column(BigInteger))


class RunTagTable(SQLModel, table=True):
    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_key", "key"),)

    run_uuid: str = Field(sa_column=_run_fk())
    key: str = Field(sa_column=Column(String(_KEY), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))


class DatasetTable(SQLModel, table=True):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_exp_name_digest"),)

    dataset_uuid: str = Field(sa_column=Column(String(32), primary_key=True))
    experiment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(sa_column=Column(String(500), nullable=False))
    digest: str = Field(sa_column=Column(String(36), nullable=False))
    source_type: str = Field(default="", sa_column=Column(String(36), nullable=False))
    source: str = Field(default="", sa_column=Column(Text, nullable=False))
    dataset_schema: str | None = Field(default=None, sa_column=Column("schema", Text))
    profile: str | None = Field(default=None, sa_column=Column(Text))


class RunInputTable(SQLModel, table=True):
    """A run's use of a dataset; ``tags_json`` holds input tags such as the context."""

    __tablename__ = "run_inputs"

    run_uuid: str = Field(sa_column=_run_fk())
    dataset_uuid: str = Field(
        sa_column=Column(String(32), ForeignKey("datasets.dataset_uuid", ondelete="CASCADE"), primary_key=True)
    )
    tags_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
