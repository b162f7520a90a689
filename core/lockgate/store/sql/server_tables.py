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
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

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
    return Column(String(40), ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True)


class LoggedModelTable(SQLModel, table=True):
    __tablename__ = "logged_models"

    model_id: str = Field(sa_column=Column(String(40), primary_key=True))
    experiment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False,
                         index=True)
    )
    name: str = Field(sa_column=Column(String(500), nullable=False))
    artifact_location: str = Field(sa_column=Column(Text, nullable=False))
    creation_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_updated_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(sa_column=Column(String(32), nullable=False))
    status_message: str | None = Field(default=None, sa_column=Column(Text))
    source_run_id: str | None = Field(default=None, sa_column=Column(String(32), index=True))
    model_type: str | None = Field(default=None, sa_column=Column(String(500)))
    user_id: str = Field(default="", sa_column=Column(String(256), nullable=False))
    lifecycle_stage: str = Field(default="active", sa_column=Column(String(20), nullable=False))


class LoggedModelTagTable(SQLModel, table=True):
    __tablename__ = "logged_model_tags"

    model_id: str = Field(sa_column=_model_fk())
    key: str = Field(sa_column=Column(String(250), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))


class LoggedModelParamTable(SQLModel, table=True):
    __tablename__ = "logged_model_params"

    model_id: str = Field(sa_column=_model_fk())
    key: str = Field(sa_column=Column(String(250), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))


class LoggedModelMetricTable(SQLModel, table=True):
    """A metric value logged in a run with a model id (MLflow 3 links it to that logged model).
    One row per (model, key, timestamp, step, run), as in MLflow; NaN is ``is_nan`` with 0."""

    __tablename__ = "logged_model_metrics"
    __table_args__ = (
        UniqueConstraint("model_id", "key", "timestamp", "step", "run_uuid", name="uq_logged_model_metrics_point"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(Integer().with_variant(BigInteger(), "postgresql"), primary_key=True, autoincrement=True),
    )
    model_id: str = Field(
        sa_column=Column(String(40), ForeignKey("logged_models.model_id", ondelete="CASCADE"), nullable=False)
    )
    run_uuid: str = Field(
        sa_column=Column(String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False)
    )
    key: str = Field(sa_column=Column(String(250), nullable=False))
    value: float = Field(sa_column=Column(Float, nullable=False))
    is_nan: bool = Field(sa_column=Column(Boolean, nullable=False))
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    step: int = Field(sa_column=Column(BigInteger, nullable=False))
    dataset_name: str | None = Field(default=None, sa_column=Column(String(500)))
    dataset_digest: str | None = Field(default=None, sa_column=Column(String(36)))


class RunOutputTable(SQLModel, table=True):
    __tablename__ = "run_outputs"

    run_uuid: str = Field(
        sa_column=Column(String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True)
    )
    model_id: str = Field(sa_column=_model_fk())
    step: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class UserTable(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    username: str = Field(sa_column=Column(String(256), nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    is_admin: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class ApiTokenTable(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    name: str = Field(sa_column=Column(String(256), nullable=False))
    # SHA-256 of the token: tokens are long random secrets, so a fast hash suffices and keeps
    # per-request checks cheap; the token itself is shown once and never stored.
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    expires_at: int | None = Field(default=None, sa_column=Column(BigInteger))


class PermissionTable(SQLModel, table=True):
    __tablename__ = "permissions"
    __table_args__ = (UniqueConstraint("user_id", "resource_type", "resource_id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    resource_type: str = Field(sa_column=Column(String(32), nullable=False))
    resource_id: str = Field(sa_column=Column(String(256), nullable=False))
    permission: str = Field(sa_column=Column(String(16), nullable=False))
