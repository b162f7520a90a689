"""Tables of registry webhooks: subscriptions (with their delivery cursor and lease) and the
delivery log (one row per attempt)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

__all__ = ["WebhookAttemptTable", "WebhookTable"]


class WebhookTable(SQLModel, table=True):
    """One subscription. ``cursor`` is the id of the last registry event it has handled;
    ``lease_owner``/``lease_expires`` say which server process delivers for it until when."""

    __tablename__ = "webhooks"

    webhook_id: str = Field(sa_column=Column(String(32), primary_key=True))
    name: str = Field(sa_column=Column(String(256), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))
    url: str = Field(sa_column=Column(Text, nullable=False))
    # JSON list of Lockgate event type names (``model_version.promoted`` ...).
    events: str = Field(sa_column=Column(Text, nullable=False))
    model_name: str | None = Field(default=None, sa_column=Column(String(256), index=True))
    # ``env:VAR`` (read from the delivering server's environment) or ``fernet:<token>``.
    secret_ref: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    created_by: str = Field(default="", sa_column=Column(String(256), nullable=False))
    creation_timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_updated_timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    cursor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    lease_owner: str | None = Field(default=None, sa_column=Column(String(64)))
    lease_expires: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    # ``lockgate`` or ``mlflow``: whose payload and headers deliveries use.
    payload_format: str = Field(default="lockgate",
                                sa_column=Column(String(16), nullable=False, server_default="lockgate"))


class WebhookAttemptTable(SQLModel, table=True):
    """One HTTP attempt of one delivery (an event, or a test ping, sent to one webhook)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_webhook", "webhook_id", "id"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(Integer().with_variant(BigInteger(), "postgresql"), primary_key=True, autoincrement=True),
    )
    webhook_id: str = Field(
        sa_column=Column(String(32), ForeignKey("webhooks.webhook_id", ondelete="CASCADE"), nullable=False)
    )
    delivery_id: str = Field(sa_column=Column(String(36), nullable=False))
    event_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    event_type: str = Field(sa_column=Column(String(64), nullable=False))
    attempt: int = Field(sa_column=Column(Integer, nullable=False))
    time: int = Field(sa_column=Column(BigInteger, nullable=False))
    # SUCCEEDED, RETRYING (will be tried again), FAILED (given up).
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(Integer))
    latency_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))
    response_snippet: str | None = Field(default=None, sa_column=Column(Text))
