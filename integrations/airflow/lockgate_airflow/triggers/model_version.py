"""``ModelVersionTrigger``: polls the registry's event cursor from the triggerer, without a worker slot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from lockgate_airflow.version_compat import BaseTrigger, TriggerEvent

__all__ = ["ModelVersionTrigger", "describe_event", "match_event"]


def match_event(client: Any, *, model_name: str, alias: str | None, after_event_id: int) -> tuple[dict[str, Any] | None, int]:
    """The first event after the cursor that the sensor waits for, and the new cursor.

    With ``alias`` that is the alias being set (moved to another version); without, a new
    version being created.
    """
    cursor = after_event_id
    for event in client.iter_events(after_id=cursor, model_name=model_name, page_size=500):
        cursor = max(cursor, int(event.id))
        kind = event.type.value if hasattr(event.type, "value") else str(event.type)
        if alias is None and kind == "VERSION_CREATED":
            return describe_event(event), cursor
        if alias is not None and kind == "ALIAS_SET" and event.alias == alias:
            return describe_event(event), cursor
    return None, cursor


def describe_event(event: Any) -> dict[str, Any]:
    """A registry event as the JSON the triggers hand over (TriggerEvent and asset event payload)."""
    kind = event.type.value if hasattr(event.type, "value") else str(event.type)
    version = event.to_version if event.to_version is not None else event.version
    return {
        "event_id": int(event.id),
        "type": kind,
        "model_name": event.model_name,
        "version": int(version) if version is not None else None,
        "from_version": int(event.from_version) if event.from_version is not None else None,
        "alias": event.alias,
        "actor": event.actor,
        "timestamp": event.timestamp,
    }


class ModelVersionTrigger(BaseTrigger):
    """Fires when a registered model gets a new version (or ``alias`` moves) after a cursor."""

    def __init__(
        self,
        *,
        model_name: str,
        after_event_id: int,
        alias: str | None = None,
        poll_interval: float = 30.0,
        lockgate_conn_id: str = "lockgate_default",
    ) -> None:
        super().__init__()
        self.model_name = model_name
        self.after_event_id = int(after_event_id)
        self.alias = alias
        self.poll_interval = float(poll_interval)
        self.lockgate_conn_id = lockgate_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "model_name": self.model_name,
                "after_event_id": self.after_event_id,
                "alias": self.alias,
                "poll_interval": self.poll_interval,
                "lockgate_conn_id": self.lockgate_conn_id,
            },
        )

    def _poll(self, client: Any, cursor: int) -> tuple[dict[str, Any] | None, int]:
        return match_event(client, model_name=self.model_name, alias=self.alias, after_event_id=cursor)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from lockgate_airflow.hooks.lockgate import LockgateHook

        cursor = self.after_event_id
        try:
            client = await asyncio.to_thread(LockgateHook(self.lockgate_conn_id).get_conn)
            while True:
                found, cursor = await asyncio.to_thread(self._poll, client, cursor)
                if found is not None:
                    yield TriggerEvent({"status": "success", **found})
                    return
                await asyncio.sleep(self.poll_interval)
        except Exception as exc:  # noqa: BLE001 - the sensor turns this into a task failure with the message
            yield TriggerEvent({"status": "error", "message": f"{type(exc).__name__}: {exc}", "cursor": cursor})
