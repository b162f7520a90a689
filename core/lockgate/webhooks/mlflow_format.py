"""Deliveries in MLflow's webhook format, for webhooks created through MLflow's API.

A receiver written for ``mlflow server`` verifies these unchanged (MLflow 3.3+'s documented
scheme): the body is ``{"entity", "action", "timestamp", "data"}``; the headers are
``X-MLflow-Delivery-Id``, ``X-MLflow-Timestamp`` (seconds) and ``X-MLflow-Signature``:
``v1,`` + base64 of the HMAC-SHA256, keyed with the webhook's secret, of
``"<delivery id>.<timestamp>.<body>"``. Lockgate's own webhooks keep Lockgate's payload and
``X-Lockgate-*`` headers (``delivery.signed_request``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument

if TYPE_CHECKING:
    from lockgate.registry.entities import RegistryEvent

__all__ = [
    "DELIVERY_ID_HEADER",
    "LOCKGATE_FORMAT",
    "MLFLOW_EVENTS",
    "MLFLOW_FORMAT",
    "PAYLOAD_FORMATS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "example_request",
    "mlflow_event",
    "mlflow_request",
    "mlflow_signature",
]

LOCKGATE_FORMAT = "lockgate"
MLFLOW_FORMAT = "mlflow"
PAYLOAD_FORMATS = (LOCKGATE_FORMAT, MLFLOW_FORMAT)

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"

#: MLflow's ``entity.action`` names and the Lockgate event types each stands for.
MLFLOW_EVENTS: dict[str, tuple[str, ...]] = {
    "registered_model.created": ("registered_model.created",),
    "model_version.created": ("model_version.created",),
    "model_version_tag.set": ("model_version.tag_set",),
    "model_version_tag.deleted": ("model_version.tag_deleted",),
    "model_version_alias.created": ("alias.set", "alias.moved"),
    "model_version_alias.deleted": ("alias.deleted",),
}

#: MLflow's example ``data`` per (entity, action), sent by a test ping as MLflow does.
_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("registered_model", "created"): {"name": "example_model", "tags": {"example_key": "example_value"},
                                      "description": "An example registered model"},
    ("model_version", "created"): {"name": "example_model", "version": "1", "source": "models:/123",
                                   "run_id": "abcd1234abcd5678", "tags": {"example_key": "example_value"},
                                   "description": "An example model version"},
    ("model_version_tag", "set"): {"name": "example_model", "version": "1", "key": "example_key",
                                   "value": "example_value"},
    ("model_version_tag", "deleted"): {"name": "example_model", "version": "1", "key": "example_key"},
    ("model_version_alias", "created"): {"name": "example_model", "alias": "example_alias", "version": "1"},
    ("model_version_alias", "deleted"): {"name": "example_model", "alias": "example_alias"},
}


def mlflow_event(event: RegistryEvent, types: list[str]) -> tuple[str, str, dict[str, Any]] | None:
    """MLflow's (entity, action, data) for a registry event of the given Lockgate ``types``,
    or None when MLflow has no such event (a stage change, a gate refusal ...)."""
    details = event.details
    name = event.model_name
    version = None if event.version is None else str(event.version)
    if "registered_model.created" in types:
        return "registered_model", "created", {"name": name, "tags": dict(details.get("tags") or {}),
                                               "description": details.get("description")}
    if "model_version.created" in types:
        return "model_version", "created", {
            "name": name, "version": version, "source": details.get("source"), "run_id": details.get("run_id"),
            "tags": dict(details.get("tags") or {}), "description": details.get("description")}
    if "model_version.tag_set" in types:
        return "model_version_tag", "set", {"name": name, "version": version, "key": details.get("key"),
                                            "value": details.get("value")}
    if "model_version.tag_deleted" in types:
        return "model_version_tag", "deleted", {"name": name, "version": version, "key": details.get("key")}
    if "alias.set" in types or "alias.moved" in types:
        return "model_version_alias", "created", {"name": name, "alias": event.alias, "version": version}
    if "alias.deleted" in types:
        return "model_version_alias", "deleted", {"name": name, "alias": event.alias}
    return None


def mlflow_signature(secret: str, *, delivery_id: str, timestamp: str, body: bytes) -> str:
    """``v1,<base64>``: HMAC-SHA256 with ``secret`` over ``"<delivery_id>.<timestamp>." + body``."""
    digest = hmac.new(secret.encode(), f"{delivery_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def mlflow_request(entity: str, action: str, data: dict[str, Any], *, secret: str,
                   delivery_id: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one MLflow-format delivery, signed now."""
    envelope = {"entity": entity, "action": action,
                "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(), "data": data}
    body = json.dumps(envelope).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        DELIVERY_ID_HEADER: delivery_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: mlflow_signature(secret, delivery_id=delivery_id, timestamp=timestamp, body=body),
    }
    return body, headers


def example_request(event: str | None, types: list[str], *, secret: str,
                    delivery_id: str) -> tuple[bytes, dict[str, str]]:
    """A test ping for an MLflow-format webhook: MLflow's example payload of ``event``
    (``entity.action``), by default of the first MLflow event the webhook's ``types`` cover."""
    if event is None:
        event = next((name for name, ours in MLFLOW_EVENTS.items() if set(ours) & set(types)), None)
    entity, _, action = (event or "").lower().partition(".")
    data = _EXAMPLES.get((entity, action))
    if data is None:
        raise InvalidArgument(f"Webhook event {event!r} has no test payload (events: {', '.join(MLFLOW_EVENTS)}).")
    return mlflow_request(entity, action, dict(data), secret=secret, delivery_id=delivery_id)
