"""Tables of the model registry: models, versions, aliases, gate policies, events.

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
    Table,
    Text,
)

from lockgate.registry.validation import (  # the limits, shared with validation
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_SOURCE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
)
from lockgate.store.sql.tables import metadata

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
        "model_id",
        Integer,
        ForeignKey("registered_models.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


RegisteredModelTable = Table(
    "registered_models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(_NAME), nullable=False, unique=True),
    Column("description", Text),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
)

RegisteredModelTagTable = Table(
    "registered_model_tags",
    metadata,
    _model_fk(primary_key=True),
    Column("key", String(_KEY), primary_key=True),
    Column("value", String(MAX_TAG_VALUE_LENGTH), nullable=False),
    Index("ix_registered_model_tags_key", "key"),
)

ModelVersionTable = Table(
    "model_versions",
    metadata,
    _model_fk(primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("source", String(MAX_SOURCE_LENGTH), nullable=False),
    Column("storage_location", Text, nullable=False),
    Column("run_id", String(32)),
    Column("experiment_id", String(32)),
    Column("run_link", Text),
    Column("status", String(32), nullable=False),
    Column("status_message", Text),
    Column("current_stage", String(20), nullable=False),
    Column("description", Text),
    Column("user_id", String(_NAME), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("deleted_time", BigInteger),
    Column("idempotency_key", String(MAX_IDEMPOTENCY_KEY_LENGTH)),
    Index("ix_model_versions_run", "run_id"),
    # Finds "this source is already registered" without scanning every version.
    Index("ix_model_versions_model_source", "model_id", "source"),
    Index("ix_model_versions_model_stage", "model_id", "current_stage"),
    # A retried registration names the version it already made; NULLs never collide.
    Index("ux_model_versions_idempotency", "model_id", "idempotency_key", unique=True),
)
"""One version; rows are soft-deleted (``deleted_time``) so a number is never reused."""

ModelVersionTagTable = Table(
    "model_version_tags",
    metadata,
    Column("model_id", Integer, primary_key=True, nullable=False),
    Column("version", Integer, primary_key=True, autoincrement=False, nullable=False),
    Column("key", String(_KEY), primary_key=True),
    Column("value", String(MAX_TAG_VALUE_LENGTH), nullable=False),
    ForeignKeyConstraint(
        ["model_id", "version"],
        ["model_versions.model_id", "model_versions.version"],
        ondelete="CASCADE",
        name="fk_model_version_tags_version",
    ),
    Index("ix_model_version_tags_key", "key"),
)

ModelAliasTable = Table(
    "model_aliases",
    metadata,
    Column("model_id", Integer, primary_key=True, nullable=False),
    Column("alias", String(_ALIAS), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("set_by", String(_NAME), nullable=False),
    Column("set_time", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["model_id", "version"],
        ["model_versions.model_id", "model_versions.version"],
        ondelete="CASCADE",
        name="fk_model_aliases_version",
    ),
)
"""The primary key (model, alias) is what makes "exactly one holder" a database fact."""

GatePolicyTable = Table(
    "gate_policies",
    metadata,
    _model_fk(primary_key=True),
    Column("target_kind", String(8), primary_key=True),
    Column("target", String(_ALIAS), primary_key=True),
    Column("policy_version", Integer, primary_key=True, autoincrement=False),
    Column("policy", Text, nullable=False),
    Column("created_by", String(_NAME), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
"""Every version of every policy is kept; the highest ``policy_version`` is in force."""

RegistryEventTable = Table(
    "registry_events",
    metadata,
    Column("id", Integer().with_variant(BigInteger(), "postgresql"), primary_key=True, autoincrement=True),
    Column("event_type", String(40), nullable=False),
    Column("model_id", Integer),
    Column("model_name", String(_NAME), nullable=False),
    Column("version", Integer),
    Column("alias", String(_ALIAS)),
    Column("stage", String(20)),
    Column("from_version", Integer),
    Column("to_version", Integer),
    Column("actor", String(_NAME), nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("reason", Text),
    Column("evidence", Text),
    Column("override", Boolean, nullable=False, default=False),
    Column("details", Text),
    Index("ix_registry_events_model", "model_id", "id"),
    Index("ix_registry_events_type", "event_type", "id"),
    Index("ix_registry_events_name", "model_name", "id"),
)
"""Append-only audit trail and sensor cursor; ids only ever grow."""
