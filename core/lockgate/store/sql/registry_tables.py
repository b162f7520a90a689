"""SQLModel tables of the model registry: models, versions, aliases, gate policies, events.

Models have a surrogate integer id so a rename touches one row; versions, tags, aliases and
policies hang off that id. ``registry_events`` deliberately has no foreign key: the audit
trail must outlive the models it talks about, so it keeps the model's name as text.
Times are integer milliseconds since the epoch.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlmodel import Field, SQLModel

from lockgate.registry.validation import (  # the limits, shared with validation
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_SOURCE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
)

__all__ = [
    "GatePolicyTable",
    "ModelAliasTable",
    "ModelVersionTable",
    "ModelVersionTagTable",
    "RegisteredModelTable",
    "RegisteredModelTagTable",
    "RegistryEventTable",
]

_NAME = 256
_KEY = 250
_ALIAS = 255


def _model_fk(*, primary_key: bool) -> Column:  # type: ignore[type-arg]
    return Column(
        Integer,
        ForeignKey("registered_models.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


class RegisteredModelTable(SQLModel, table=True):
    __tablename__ = "registered_models"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    name: str = Field(sa_column=Column(String(_NAME), nullable=False, unique=True))
    description: str | None = Field(default=None, sa_column=Column(Text))
    creation_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_updated_time: int = Field(sa_column=Column(BigInteger, nullable=False))


class RegisteredModelTagTable(SQLModel, table=True):
    __tablename__ = "registered_model_tags"
    __table_args__ = (Index("ix_registered_model_tags_key", "key"),)

    model_id: int = Field(sa_column=_model_fk(primary_key=True))
    key: str = Field(sa_column=Column(String(_KEY), primary_key=True))
    value: str = Field(sa_column=Column(String(MAX_TAG_VALUE_LENGTH), nullable=False))


class ModelVersionTable(SQLModel, table=True):
    """One version; rows are soft-deleted (``deleted_time``) so a number is never reused."""

    __tablename__ = "model_versions"
    __table_args__ = (
        Index("ix_model_versions_run", "run_id"),
        # Finds "this source is already registered" without scanning every version.
        Index("ix_model_versions_model_source", "model_id", "source"),
        Index("ix_model_versions_model_stage", "model_id", "current_stage"),
        # A retried registration names the version it already made; NULLs never collide.
        Index("ux_model_versions_idempotency", "model_id", "idempotency_key", unique=True),
    )

    model_id: int = Field(sa_column=_model_fk(primary_key=True))
    version: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    source: str = Field(sa_column=Column(String(MAX_SOURCE_LENGTH), nullable=False))
    storage_location: str = Field(sa_column=Column(Text, nullable=False))
    run_id: str | None = Field(default=None, sa_column=Column(String(32)))
    experiment_id: str | None = Field(default=None, sa_column=Column(String(32)))
    run_link: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(default="READY", sa_column=Column(String(32), nullable=False))
    status_message: str | None = Field(default=None, sa_column=Column(Text))
    current_stage: str = Field(default="None", sa_column=Column(String(20), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))
    user_id: str = Field(default="", sa_column=Column(String(_NAME), nullable=False))
    creation_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_updated_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    deleted_time: int | None = Field(default=None, sa_column=Column(BigInteger))
    idempotency_key: str | None = Field(default=None, sa_column=Column(String(MAX_IDEMPOTENCY_KEY_LENGTH)))


class ModelVersionTagTable(SQLModel, table=True):
    __tablename__ = "model_version_tags"
    __table_args__ = (
        ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            ondelete="CASCADE",
            name="fk_model_version_tags_version",
        ),
        Index("ix_model_version_tags_key", "key"),
    )

    model_id: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False))
    version: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False, nullable=False))
    key: str = Field(sa_column=Column(String(_KEY), primary_key=True))
    value: str = Field(sa_column=Column(String(MAX_TAG_VALUE_LENGTH), nullable=False))


class ModelAliasTable(SQLModel, table=True):
    """The primary key (model, alias) is what makes "exactly one holder" a database fact."""

    __tablename__ = "model_aliases"
    __table_args__ = (
        ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            ondelete="CASCADE",
            name="fk_model_aliases_version",
        ),
    )

    model_id: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False))
    alias: str = Field(sa_column=Column(String(_ALIAS), primary_key=True))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    set_by: str = Field(default="", sa_column=Column(String(_NAME), nullable=False))
    set_time: int = Field(sa_column=Column(BigInteger, nullable=False))


class GatePolicyTable(SQLModel, table=True):
    """Every version of every policy is kept; the highest ``policy_version`` is in force."""

    __tablename__ = "gate_policies"

    model_id: int = Field(sa_column=_model_fk(primary_key=True))
    target_kind: str = Field(sa_column=Column(String(8), primary_key=True))
    target: str = Field(sa_column=Column(String(_ALIAS), primary_key=True))
    policy_version: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    policy: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str = Field(default="", sa_column=Column(String(_NAME), nullable=False))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class RegistryEventTable(SQLModel, table=True):
    """Append-only audit trail and sensor cursor; ids only ever grow."""

    __tablename__ = "registry_events"
    __table_args__ = (
        Index("ix_registry_events_model", "model_id", "id"),
        Index("ix_registry_events_type", "event_type", "id"),
        Index("ix_registry_events_name", "model_name", "id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer().with_variant(BigInteger(), "postgresql"), primary_key=True, autoincrement=True
        ),
    )
    event_type: str = Field(sa_column=Column(String(40), nullable=False))
    model_id: int | None = Field(default=None, sa_column=Column(Integer))
    model_name: str = Field(sa_column=Column(String(_NAME), nullable=False))
    version: int | None = Field(default=None, sa_column=Column(Integer))
    alias: str | None = Field(default=None, sa_column=Column(String(_ALIAS)))
    stage: str | None = Field(default=None, sa_column=Column(String(20)))
    from_version: int | None = Field(default=None, sa_column=Column(Integer))
    to_version: int | None = Field(default=None, sa_column=Column(Integer))
    actor: str = Field(default="", sa_column=Column(String(_NAME), nullable=False))
    time: int = Field(sa_column=Column(BigInteger, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    evidence: str | None = Field(default=None, sa_column=Column(Text))
    override: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    details: str | None = Field(default=None, sa_column=Column(Text))
