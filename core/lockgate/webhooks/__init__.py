"""Registry webhooks: signed HTTP POSTs of registry events, driven by the event log.

``event_payload`` (in ``lockgate.webhooks.payload``) defines what a receiver gets for each
event; ``WebhookService`` keeps subscriptions and the delivery log; ``WebhookDispatcher`` is
the delivery loop every ``lockgate server`` process runs. Nothing heavy is imported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lockgate.webhooks.entities import Webhook, WebhookAttempt, WebhookTestResult
    from lockgate.webhooks.payload import EVENT_TYPES, event_payload, event_types
    from lockgate.webhooks.security import sign

__all__ = ["EVENT_TYPES", "Webhook", "WebhookAttempt", "WebhookTestResult", "event_payload", "event_types", "sign"]

from lockgate._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "Webhook": "lockgate.webhooks.entities",
    "WebhookAttempt": "lockgate.webhooks.entities",
    "WebhookTestResult": "lockgate.webhooks.entities",
    "EVENT_TYPES": "lockgate.webhooks.payload",
    "event_payload": "lockgate.webhooks.payload",
    "event_types": "lockgate.webhooks.payload",
    "sign": "lockgate.webhooks.security",
})
