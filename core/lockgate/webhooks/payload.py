"""The public event vocabulary and the JSON payload of one registry event.

``event_payload(event)`` is the one definition of what an outside system receives for a
registry event: webhooks send it, and the Prefect/Dagster/Airflow adapters can emit the same
dict. Lockgate's event log has its own internal types (``ALIAS_SET``, ``STAGE_CHANGED`` ...);
``event_types(event)`` maps one log entry to the public names it matches, most specific first
(a gated alias move is ``model_version.promoted`` and also ``alias.moved``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument

if TYPE_CHECKING:
    from lockgate.registry.entities import RegistryEvent

__all__ = [
    "EVENT_TYPES",
    "GATE_EVENT_TYPES",
    "PAYLOAD_SCHEMA_VERSION",
    "TEST_EVENT_TYPE",
    "event_payload",
    "event_types",
    "parse_event_types",
    "ping_payload",
]

PAYLOAD_SCHEMA_VERSION = 1

#: Every public event type, with what it means (docs/webhooks.md lists the same).
EVENT_TYPES: dict[str, str] = {
    "registered_model.created": "a registered model was created",
    "registered_model.renamed": "a registered model was renamed (details.from, details.to)",
    "registered_model.deleted": "a registered model was deleted",
    "model_version.created": "a new version was registered",
    "model_version.promoted": "a version passed a gate onto a guarded alias or stage (or was forced past it)",
    "model_version.tag_set": "a version tag was set (details.key, details.value)",
    "model_version.tag_deleted": "a version tag was deleted (details.key)",
    "alias.set": "an alias that pointed nowhere now points at a version",
    "alias.moved": "an alias moved from one version (from_version) to another (version)",
    "alias.deleted": "an alias was removed",
    "stage.changed": "a version entered a stage (stage; details.from_stage for archiving)",
    "gate.rejected": "a gate refused a move or a guarded change; evidence holds every rule's verdict",
    "gate.overridden": "a privileged user forced a failing gate, with a reason",
    "approval": "a user approved a version (for approval rules)",
    "policy.changed": "a gate policy was set on an alias or stage",
}

#: Types whose payload carries the gate's ``evidence``.
GATE_EVENT_TYPES = frozenset({"model_version.promoted", "gate.rejected", "gate.overridden"})

#: The type of the ping ``test_webhook`` sends.
TEST_EVENT_TYPE = "webhook.test"

_FIXED: dict[str, str] = {
    "MODEL_CREATED": "registered_model.created",
    "MODEL_RENAMED": "registered_model.renamed",
    "MODEL_DELETED": "registered_model.deleted",
    "VERSION_CREATED": "model_version.created",
    "VERSION_TAG_SET": "model_version.tag_set",
    "VERSION_TAG_DELETED": "model_version.tag_deleted",
    "VERSION_APPROVED": "approval",
    "ALIAS_DELETED": "alias.deleted",
    "GATE_POLICY_SET": "policy.changed",
    "GATE_REJECTED": "gate.rejected",
}


def event_types(event: RegistryEvent) -> list[str]:
    """The public types ``event`` matches, most specific first; empty for log entries that
    have no public type (description and model-tag edits, version deletions)."""
    kind = event.type.value
    if kind in _FIXED:
        return [_FIXED[kind]]
    if kind not in ("ALIAS_SET", "STAGE_CHANGED"):
        return []
    plain = "stage.changed" if kind == "STAGE_CHANGED" else (
        "alias.moved" if event.from_version is not None and event.from_version != event.version else "alias.set")
    if event.evidence is None:  # no gate guards the target: a plain move
        return [plain]
    promoted = ["model_version.promoted", plain]
    return ["gate.overridden", *promoted] if event.override else promoted


def parse_event_types(names: list[str] | tuple[str, ...] | str) -> list[str]:
    """``names`` checked against ``EVENT_TYPES`` (a comma-separated string is accepted),
    de-duplicated in order; InvalidArgument naming every unknown one."""
    items = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
    items = [n for n in items if n]
    if not items:
        raise InvalidArgument(f"A webhook needs at least one event type (valid: {', '.join(EVENT_TYPES)}).")
    unknown = [n for n in items if n not in EVENT_TYPES]
    if unknown:
        raise InvalidArgument(
            f"Unknown event type(s) {', '.join(repr(u) for u in unknown)} (valid: {', '.join(EVENT_TYPES)})."
        )
    return list(dict.fromkeys(items))


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def event_payload(event: RegistryEvent) -> dict[str, Any]:
    """The JSON-ready payload of one registry event (see docs/webhooks.md for every field).

    ``type`` is the most specific public type and ``types`` every type it matches; ``evidence``
    (every gate rule's verdict) is present for gate events and null otherwise. Raises
    InvalidArgument for a log entry that has no public type.
    """
    types = event_types(event)
    if not types:
        raise InvalidArgument(f"Registry event {event.id} ({event.type.value}) has no public event type.")
    gated = any(t in GATE_EVENT_TYPES for t in types)
    return {
        "schema_version": PAYLOAD_SCHEMA_VERSION,
        "event_id": event.id,
        "type": types[0],
        "types": types,
        "model": event.model_name,
        "version": event.version,
        "alias": event.alias,
        "stage": event.stage,
        "from_version": event.from_version,
        "to_version": event.to_version,
        "actor": event.actor,
        "time": _iso(event.timestamp),
        "timestamp_ms": event.timestamp,
        "reason": event.reason,
        "override": event.override,
        "evidence": event.evidence if gated else None,
        "details": dict(event.details),
    }


def ping_payload(*, webhook_id: str, now_ms: int) -> dict[str, Any]:
    """The payload of a ``test_webhook`` ping: the same envelope, type ``webhook.test``."""
    return {
        "schema_version": PAYLOAD_SCHEMA_VERSION, "event_id": None, "type": TEST_EVENT_TYPE,
        "types": [TEST_EVENT_TYPE], "model": None, "version": None, "alias": None, "stage": None,
        "from_version": None, "to_version": None, "actor": "", "time": _iso(now_ms), "timestamp_ms": now_ms,
        "reason": None, "override": False, "evidence": None, "details": {"webhook_id": webhook_id},
    }
