"""Tables of registry webhooks: subscriptions (with their delivery cursor and lease) and the
delivery log (one row per attempt)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from lockgate.store.sql.tables import metadata

__all__ = ["WebhookAttemptTable", "WebhookTable"]

WebhookTable = Table(
    "webhooks",
    metadata,
    Column("webhook_id", String(32), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("description", Text),
    Column("url", Text, nullable=False),
    # JSON list of Lockgate event type names (``model_version.promoted`` ...).
    Column("events", Text, nullable=False),
    Column("model_name", String(256), index=True),
    # ``env:VAR`` (read from the delivering server's environment) or ``fernet:<token>``.
    Column("secret_ref", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("creation_timestamp", BigInteger, nullable=False),
    Column("last_updated_timestamp", BigInteger, nullable=False),
    Column("cursor", BigInteger, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_expires", BigInteger, nullable=False),
    # ``lockgate`` or ``mlflow``: whose payload and headers deliveries use.
    Column("payload_format", String(16), nullable=False, server_default="lockgate"),
)
"""One subscription. ``cursor`` is the id of the last registry event it has handled;
``lease_owner``/``lease_expires`` say which server process delivers for it until when."""

WebhookAttemptTable = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer().with_variant(BigInteger(), "postgresql"), primary_key=True, autoincrement=True),
    Column("webhook_id", String(32), ForeignKey("webhooks.webhook_id", ondelete="CASCADE"), nullable=False),
    Column("delivery_id", String(36), nullable=False),
    Column("event_id", BigInteger),
    Column("event_type", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("time", BigInteger, nullable=False),
    # SUCCEEDED, RETRYING (will be tried again), FAILED (given up).
    Column("outcome", String(16), nullable=False),
    Column("status_code", Integer),
    Column("latency_ms", BigInteger, nullable=False),
    Column("error", Text),
    Column("response_snippet", Text),
    Index("ix_webhook_attempts_webhook", "webhook_id", "id"),
)
"""One HTTP attempt of one delivery (an event, or a test ping, sent to one webhook)."""
