"""``ModelAliasEventTrigger``: an Asset watcher that fires when an alias of a registered model moves.

Airflow 3's event-driven scheduling runs a ``BaseEventTrigger`` in the triggerer for every
``AssetWatcher``; each ``TriggerEvent`` it yields becomes an asset event whose ``extra`` is
``{"from_trigger": True, "payload": <the event's payload>}``, and DAGs scheduled on the asset run.
This trigger reads the registry's event log after a cursor (the same feed as
``ModelVersionTrigger`` and the sensors) and yields one event per ``ALIAS_SET`` of its alias:
a promotion, or any other move of the alias to a version. Where Airflow offers the asset's state
store (3.3), the cursor is kept there after each event, so a restarted triggerer continues where
it stopped (an event is delivered at least once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from lockgate_airflow.triggers.model_version import describe_event
from lockgate_airflow.version_compat import BaseEventTrigger, TriggerEvent, watcher_state

__all__ = ["CURSOR_KEY", "ModelAliasEventTrigger", "alias_moves"]

log = logging.getLogger(__name__)

#: Key of the cursor in the watched asset's state store.
CURSOR_KEY = "lockgate_event_cursor"
_PAGE = 500


def alias_moves(client: Any, *, model_name: str, alias: str, after_event_id: int) -> tuple[list[dict[str, Any]], int]:
    """Every move of ``alias`` after the cursor, oldest first, as payloads; and the new cursor."""
    cursor, found = after_event_id, []
    for event in client.iter_events(after_id=cursor, model_name=model_name, types=["ALIAS_SET"], page_size=_PAGE):
        cursor = max(cursor, int(event.id))
        if event.alias == alias:
            found.append(describe_event(event))
    return found, cursor


class ModelAliasEventTrigger(BaseEventTrigger):
    """Fires once per move of ``model_name@alias`` (use it in an ``AssetWatcher``).

    ``after_event_id`` is where a watcher without a stored cursor starts: ``None`` (the
    default) means the newest event when it first runs, so past promotions do not start DAG
    runs. Registry errors are logged and retried every ``poll_interval`` seconds: a watcher
    lives as long as its asset.
    """

    def __init__(
        self,
        *,
        model_name: str,
        alias: str,
        lockgate_conn_id: str = "lockgate_default",
        poll_interval: float = 30.0,
        after_event_id: int | None = None,
    ) -> None:
        super().__init__()
        self.model_name = model_name
        self.alias = alias
        self.lockgate_conn_id = lockgate_conn_id
        self.poll_interval = float(poll_interval)
        self.after_event_id = None if after_event_id is None else int(after_event_id)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "model_name": self.model_name,
                "alias": self.alias,
                "lockgate_conn_id": self.lockgate_conn_id,
                "poll_interval": self.poll_interval,
                "after_event_id": self.after_event_id,
            },
        )

    async def _start_cursor(self, client: Any) -> int:
        state = watcher_state(self)
        if state is not None:
            stored = await state.aget(CURSOR_KEY)
            if stored is not None:
                return int(stored)
        if self.after_event_id is not None:
            return self.after_event_id
        return int(await asyncio.to_thread(client.get_latest_event_id, model_name=self.model_name))

    async def _save_cursor(self, cursor: int) -> None:
        state = watcher_state(self)
        if state is not None:
            await state.aset(CURSOR_KEY, cursor)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from lockgate_airflow.hooks.lockgate import LockgateHook

        where = f"models:/{self.model_name}@{self.alias}"
        client: Any = None
        cursor: int | None = None
        saved: int | None = None
        while True:
            try:
                if client is None:
                    client = await asyncio.to_thread(LockgateHook(self.lockgate_conn_id).get_conn)
                if cursor is None:
                    cursor = await self._start_cursor(client)
                    log.info("Lockgate watcher %s: reading registry events after %d", where, cursor)
                moves, head = await asyncio.to_thread(
                    alias_moves, client, model_name=self.model_name, alias=self.alias, after_event_id=cursor)
                for move in moves:
                    yield TriggerEvent(move)
                    # Moved and saved after the event is handed over: a crash in between repeats
                    # the event, never loses it.
                    cursor = int(move["event_id"])
                    await self._save_cursor(cursor)
                    saved = cursor
                cursor = head
                if cursor != saved:
                    await self._save_cursor(cursor)
                    saved = cursor
            except Exception as exc:  # noqa: BLE001 - a watcher outlives a registry outage
                log.warning("Lockgate watcher %s: reading the registry failed, retrying in %.0f s: %s: %s",
                            where, self.poll_interval, type(exc).__name__, exc)
            await asyncio.sleep(self.poll_interval)
