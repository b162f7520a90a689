"""Prefect events for registry moves, so Prefect Automations can react to them.

``lockgate.model.promoted`` fires when a version takes an alias or stage, and
``lockgate.gate.failed`` when a gate refuses one. The event's resource is the registered
model (``lockgate.model.<name>``); the version and the Lockgate run that produced it are
related resources; the payload carries the verdicts. An automation such as "when
``lockgate.model.promoted`` for ``lockgate.model.churn`` with alias ``champion``, run the
``score-churn`` deployment" redeploys scoring when the champion changes.

The payload is the webhook payload of the registry event (``lockgate.webhooks.payload.event_payload``:
``type`` such as ``model_version.promoted`` or ``gate.rejected``, ``event_id``, ``actor``,
``evidence`` ...), plus the keys these events carried before (``verdicts``, ``previous_version`` ...);
the webhook type is also the resource label ``lockgate.event-type`` for automations to match on.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lockgate.webhooks.payload import event_payload

from lockgate_prefect import _compat

if TYPE_CHECKING:
    from lockgate.registry.entities import RegistryEvent

__all__ = [
    "EVENT_GATE_FAILED",
    "EVENT_PROMOTED",
    "EVENT_TYPE_LABEL",
    "emit_gate_failed",
    "emit_promoted",
    "event_id_for",
    "model_resource_id",
]

EVENT_PROMOTED = "lockgate.model.promoted"
EVENT_GATE_FAILED = "lockgate.gate.failed"
#: Resource label holding the webhook event type (``model_version.promoted``, ``gate.rejected`` ...).
EVENT_TYPE_LABEL = "lockgate.event-type"

# Event ids derived from the registry's own event id: re-sending after a retried task
# gives the same id, which Prefect stores once.
_NAMESPACE = uuid.UUID("8f0d1c52-5b8e-4d43-9a4e-2b7f6f4a9c11")


def model_resource_id(name: str) -> str:
    """The Prefect resource id of a registered model: ``lockgate.model.<name>``."""
    return f"lockgate.model.{name}"


def _resource(name: str, *, alias: str | None, stage: str | None, event_type: str | None) -> dict[str, str]:
    resource = {"prefect.resource.id": model_resource_id(name), "prefect.resource.name": name}
    if event_type:
        resource[EVENT_TYPE_LABEL] = event_type
    if alias:
        resource["lockgate.alias"] = alias
    if stage:
        resource["lockgate.stage"] = stage
    return resource


def _related(name: str, version: int | None, run_id: str | None) -> list[dict[str, str]]:
    related: list[dict[str, str]] = []
    if version is not None:
        related.append({
            "prefect.resource.id": f"lockgate.model-version.{name}.{version}",
            "prefect.resource.role": "model-version",
            "prefect.resource.name": f"{name} v{version}",
        })
    if run_id:
        related.append({
            "prefect.resource.id": f"lockgate.run.{run_id}",
            "prefect.resource.role": "lockgate-run",
        })
    return related


def _verdicts(results: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {"rule": r.rule, "passed": bool(r.passed), "observed": _plain(r.observed),
         "expected": _plain(r.expected), "message": r.message}
        for r in results
    ]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return repr(value)


def event_id_for(tracking_uri: str, registry_event_id: int | None) -> uuid.UUID | None:
    """A stable Prefect event id for one registry event of one store."""
    if registry_event_id is None:
        return None
    return uuid.uuid5(_NAMESPACE, f"{tracking_uri}#{registry_event_id}")


def emit_promoted(
    name: str,
    *,
    version: int,
    alias: str | None,
    stage: str | None,
    previous_version: int | None,
    results: Sequence[Any],
    run_id: str | None,
    registry_event_id: int | None,
    tracking_uri: str,
    overridden: bool = False,
    registry_event: RegistryEvent | None = None,
) -> Any:
    """Emit ``lockgate.model.promoted`` for ``version`` taking ``alias``/``stage``; with
    ``registry_event`` (the move) the payload is also its webhook payload."""
    payload = {
        "model": name, "version": version, "alias": alias, "stage": stage,
        "previous_version": previous_version, "overridden": overridden,
        "registry_event_id": registry_event_id, "verdicts": _verdicts(results),
    }
    return _emit(EVENT_PROMOTED, name, version, alias, stage, run_id, _with_webhook_payload(payload, registry_event),
                 event_id_for(tracking_uri, registry_event_id))


def emit_gate_failed(
    name: str,
    *,
    version: int,
    alias: str | None,
    stage: str | None,
    holder_version: int | None,
    results: Sequence[Any],
    run_id: str | None,
    message: str,
    registry_event: RegistryEvent | None = None,
) -> Any:
    """Emit ``lockgate.gate.failed`` with every rule's verdict; with ``registry_event`` (the
    ``GATE_REJECTED`` entry) the payload is also its webhook payload."""
    payload = {
        "model": name, "version": version, "alias": alias, "stage": stage,
        "holder_version": holder_version, "message": message, "verdicts": _verdicts(results),
        "failed_rules": [r.rule for r in results if not r.passed],
    }
    return _emit(EVENT_GATE_FAILED, name, version, alias, stage, run_id,
                 _with_webhook_payload(payload, registry_event), None)


def _with_webhook_payload(legacy: dict[str, Any], registry_event: RegistryEvent | None) -> dict[str, Any]:
    # The webhook fields win on shared keys (model, version, alias, stage): one definition.
    return legacy if registry_event is None else {**legacy, **event_payload(registry_event)}


def _emit(
    event: str, name: str, version: int, alias: str | None, stage: str | None, run_id: str | None,
    payload: dict[str, Any], event_id: uuid.UUID | None,
) -> Any:
    kwargs: dict[str, Any] = {}
    if event_id is not None:
        kwargs["id"] = event_id
    return _compat.emit_event(
        event,
        resource=_resource(name, alias=alias, stage=stage, event_type=payload.get("type")),
        related=_related(name, version, run_id),
        payload=payload,
        **kwargs,
    )
