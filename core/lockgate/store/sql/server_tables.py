"""Tables the tracking server adds: MLflow 3 logged models and run outputs; users, API
tokens and per-resource permissions for auth."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from lockgate.store.sql.tables import metadata

__all__ = [
    "ApiTokenTable",
    "LoggedModelMetricTable",
    "LoggedModelParamTable",
    "LoggedModelTable",
    "LoggedModelTagTable",
    "PermissionTable",
    "RunOutputTable",
    "UserTable",
]


def _model_fk() -> Column:  # type: ignore[type-arg]
    return Column("model_id", String(40), ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True)


LoggedModelTable = Table(
    "logged_models",
    metadata,
    Column("model_id", String(40), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("name", String(500), nullable=False),
    Column("artifact_location", Text, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_message", Text),
    Column("source_run_id", String(32), index=True),
    Column("model_type", String(500)),
    Column("user_id", String(256), nullable=False),
    Column("lifecycle_stage", String(20), nullable=False),
)

LoggedModelTagTable = Table(
    "logged_model_tags",
    metadata,
    _model_fk(),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

LoggedModelParamTable = Table(
    "logged_model_params",
    metadata,
    _model_fk(),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

LoggedModelMetricTable = Table(
    "logged_model_metrics",
    metadata,
    Column("id", Integer().with_variant(BigInteger(), "postgresql"), primary_key=True, autoincrement=True),
    Column("model_id", String(40), ForeignKey("logged_models.model_id", ondelete="CASCADE"), nullable=False),
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float, nullable=False),
    Column("is_nan", Boolean, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("dataset_name", String(500)),
    Column("dataset_digest", String(36)),
    UniqueConstraint("model_id", "key", "timestamp", "step", "run_uuid", name="uq_logged_model_metrics_point"),
)
"""A metric value logged in a run with a model id (MLflow 3 links it to that logged model).
One row per (model, key, timestamp, step, run), as in MLflow; NaN is ``is_nan`` with 0."""

RunOutputTable = Table(
    "run_outputs",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    _model_fk(),
    Column("step", BigInteger, nullable=False),
)

UserTable = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(256), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

ApiTokenTable = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(256), nullable=False),
    # SHA-256 of the token: tokens are long random secrets, so a fast hash suffices and keeps
    # per-request checks cheap; the token itself is shown once and never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger),
)

PermissionTable = Table(
    "permissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("resource_type", String(32), nullable=False),
    Column("resource_id", String(256), nullable=False),
    Column("permission", String(16), nullable=False),
    UniqueConstraint("user_id", "resource_type", "resource_id"),
)
