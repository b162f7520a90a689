"""Value objects of webhooks: a subscription, one delivery attempt, a test result."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Webhook", "WebhookAttempt", "WebhookStatus", "WebhookTestResult"]

WebhookStatus = Literal["ACTIVE", "DISABLED"]


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True)


class Webhook(_Entity):
    """A subscription: where registry events of which types (and which model) are POSTed.

    The secret is never part of it; ``secret_source`` says only where it comes from
    (``env:HOOK_SECRET`` or ``encrypted``). ``cursor`` is the id of the last registry event
    this webhook has handled (delivered, given up, or not matching its filter).
    """

    webhook_id: str
    name: str
    description: str | None = None
    url: str
    events: list[str] = Field(default_factory=list)
    model_name: str | None = None
    status: WebhookStatus = "ACTIVE"
    secret_source: str = ""
    created_by: str = ""
    creation_timestamp: int = 0
    last_updated_timestamp: int = 0
    cursor: int = 0
    #: ``lockgate`` (Lockgate's payload and X-Lockgate-* headers) or ``mlflow`` (MLflow's payload
    #: and X-MLflow-* headers; webhooks created through MLflow's API).
    payload_format: Literal["lockgate", "mlflow"] = "lockgate"


class WebhookAttempt(_Entity):
    """One HTTP attempt of one delivery, as the delivery log keeps it.

    ``outcome`` is SUCCEEDED, RETRYING (another attempt follows) or FAILED (given up).
    ``delivery_id`` is the same for every attempt of one event to one webhook (receivers
    de-duplicate on it); ``event_id`` is None for test pings.
    """

    id: int
    webhook_id: str
    delivery_id: str
    event_id: int | None = None
    event_type: str
    attempt: int
    time: int
    outcome: Literal["SUCCEEDED", "RETRYING", "FAILED"]
    status_code: int | None = None
    latency_ms: int = 0
    error: str | None = None
    response_snippet: str | None = None


class WebhookTestResult(_Entity):
    """What a test ping got back: success, the receiver's status and answer, or the error."""

    success: bool
    status_code: int | None = None
    response_body: str | None = None
    error: str | None = None
    latency_ms: int = 0
    delivery_id: str = ""
