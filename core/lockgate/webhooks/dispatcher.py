"""``WebhookDispatcher``: the background loop that delivers registry events to webhooks.

It runs inside every ``lockgate server`` process (started and stopped by the app's
lifespan). Each tick it asks the database which active webhooks are behind the newest event
and not leased by another process, and serves each in its own task (at most
``settings.concurrency`` at once): take the webhook's lease, walk the event log from the
webhook's cursor in id order, POST each matching event (retrying with exponential backoff for
at most ``settings.retry_window``), and move the cursor after each event under the lease.

So delivery is at-least-once and in event order per webhook; a restart resumes at the cursor;
a slow receiver only holds up its own webhook; registry writes never wait for delivery.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lockgate.webhooks.delivery import post_payload, signed_request
from lockgate.webhooks.mlflow_format import MLFLOW_FORMAT, mlflow_event, mlflow_request
from lockgate.webhooks.payload import event_payload, event_types
from lockgate.webhooks.security import check_target, resolve_secret
from lockgate.webhooks.service import DeliveryTarget, WebhookService, attempt_row, delivery_id_for
from lockgate.webhooks.settings import WebhookSettings

if TYPE_CHECKING:
    import httpx

    from lockgate.registry.entities import RegistryEvent

__all__ = ["WebhookDispatcher"]

log = logging.getLogger("lockgate.webhooks")

_BATCH = 200
#: Delivered events are written to the log (and the cursor moved) in batches: at most this many
#: rows or this many seconds apart. A crash repeats at most one batch (delivery is at-least-once).
_FLUSH_ROWS = 50
_FLUSH_SECONDS = 0.2
#: How long a hole in the event ids is waited for: on PostgreSQL a transaction that took a
#: lower id may commit after a higher one; a hole that stays is a rolled-back write.
GAP_GRACE_SECONDS = 2.0


@dataclass
class _Book:
    """One webhook's delivery state between writes: the last handled event id, the id the
    database holds, and attempt rows not yet written."""

    cursor: int
    stored: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    flushed: float = field(default_factory=time.monotonic)


def _request(target: DeliveryTarget, event: RegistryEvent, payload: dict[str, Any], *, secret: str,
             delivery_id: str) -> tuple[bytes, dict[str, str]]:
    """The signed body and headers in the webhook's format (Lockgate's, or MLflow's)."""
    if target.payload_format == MLFLOW_FORMAT:
        found = mlflow_event(event, payload["types"])
        if found is None:  # an MLflow webhook's events all have an MLflow form; this is a bug
            raise ValueError(f"Event {event.id} ({payload['type']}) has no MLflow webhook form.")
        return mlflow_request(*found, secret=secret, delivery_id=delivery_id)
    return signed_request(payload, secret=secret, delivery_id=delivery_id)


class _Lost(Exception):
    """This process no longer holds the webhook (lease taken over, webhook deleted or disabled)."""


class WebhookDispatcher:
    """Delivers registry events to the webhooks of one database; ``start()``/``stop()``."""

    def __init__(self, services: Callable[[], WebhookService], *, settings: WebhookSettings | None = None,
                 owner: str | None = None) -> None:
        self._services = services
        self._service: WebhookService | None = None
        self.settings = settings or WebhookSettings.from_env()
        self.owner = owner or f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._ttl_ms = int(self.settings.lease_seconds * 1000)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._gaps: dict[int, float] = {}
        self._main: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(self.settings.concurrency)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the loop on the running event loop."""
        self._main = asyncio.get_running_loop().create_task(self._run(), name="lockgate-webhooks")

    def _http(self) -> httpx.AsyncClient:
        # Made at the first delivery, not at start: importing httpx and building its TLS
        # context would otherwise delay every server's readiness, webhooks or not.
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(timeout=self.settings.timeout, follow_redirects=False, trust_env=False,
                                             limits=httpx.Limits(max_connections=self.settings.concurrency * 2))
        return self._client

    async def stop(self) -> None:
        """Cancel the loop and every delivery in flight (their events are redelivered later)."""
        tasks = [t for t in (self._main, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._service is not None:
            try:
                await asyncio.to_thread(self._service.release_all, owner=self.owner)
            except Exception:
                log.warning("webhook delivery: could not release leases on shutdown", exc_info=True)
        if self._client is not None:
            await self._client.aclose()

    @property
    def service(self) -> WebhookService:
        """The webhook service (built on the loop's first tick, so a database that is still
        starting delays delivery instead of failing the server's start)."""
        if self._service is None:
            self._service = self._services()
        return self._service

    # ----------------------------------------------------------------- loop
    async def _run(self) -> None:
        while True:
            try:
                if self._service is None:
                    self._service = await asyncio.to_thread(self._services)
                service = self._service
                due = await asyncio.to_thread(service.due_targets, owner=self.owner, now_ms=int(time.time() * 1000))
                for target in due:
                    if target.webhook_id not in self._tasks:
                        task = asyncio.get_running_loop().create_task(self._serve(target.webhook_id))
                        self._tasks[target.webhook_id] = task
                        task.add_done_callback(self._forget)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery loop: looking for due webhooks failed; retrying")
                await asyncio.sleep(1.0)
            await asyncio.sleep(self.settings.poll_interval)

    def _forget(self, task: asyncio.Task[None]) -> None:
        for key, value in list(self._tasks.items()):
            if value is task:
                del self._tasks[key]

    async def _serve(self, webhook_id: str) -> None:
        async with self._slots:
            target = await asyncio.to_thread(self.service.claim, webhook_id, owner=self.owner, ttl_ms=self._ttl_ms)
            if target is None:
                return
            try:
                await self._drain(target)
            except _Lost:
                return
            except Exception:
                log.exception("webhook %s: delivery failed unexpectedly", webhook_id)
            await asyncio.to_thread(self.service.release, webhook_id, owner=self.owner)

    async def _drain(self, target: DeliveryTarget) -> None:
        book = _Book(cursor=target.cursor, stored=target.cursor)
        first = True
        while True:
            events = await asyncio.to_thread(self.service.registry.get_events, after_id=book.cursor, limit=_BATCH)
            start = book.cursor
            for event in events:
                if event.id != book.cursor + 1 and not self._gap_settled(book.cursor + 1):
                    break
                if self._matches(target, event):
                    await self._deliver(target, event, book, resumed=first)
                    first = False
                book.cursor = event.id
                if len(book.rows) >= _FLUSH_ROWS or time.monotonic() - book.flushed >= _FLUSH_SECONDS:
                    await self._flush(target.webhook_id, book)
            await self._flush(target.webhook_id, book)
            if not events:
                return
            if book.cursor == start:  # waiting for a hole in the ids to fill
                await asyncio.sleep(self.settings.poll_interval)
            # Settings may have changed (events, URL, secret): re-read them under the lease.
            fresh = await asyncio.to_thread(self.service.claim, target.webhook_id, owner=self.owner,
                                            ttl_ms=self._ttl_ms)
            if fresh is None:
                raise _Lost
            target = fresh

    async def _flush(self, webhook_id: str, book: _Book) -> None:
        """Write the pending log rows and the cursor in one transaction, under the lease."""
        if not book.rows and book.cursor == book.stored:
            return
        if not await asyncio.to_thread(self.service.complete, webhook_id, owner=self.owner, cursor=book.cursor,
                                       attempts=list(book.rows), ttl_ms=self._ttl_ms):
            raise _Lost
        book.rows.clear()
        book.stored, book.flushed = book.cursor, time.monotonic()

    def _gap_settled(self, missing_id: int) -> bool:
        first = self._gaps.setdefault(missing_id, time.monotonic())
        if time.monotonic() - first < GAP_GRACE_SECONDS:
            return False
        self._gaps.pop(missing_id, None)
        return True

    @staticmethod
    def _matches(target: DeliveryTarget, event: RegistryEvent) -> bool:
        if target.model_name is not None and event.model_name != target.model_name and \
                event.details.get("from") != target.model_name:
            return False
        return not target.events.isdisjoint(event_types(event))

    async def _deliver(self, target: DeliveryTarget, event: RegistryEvent, book: _Book, *, resumed: bool) -> None:
        settings = self.settings
        payload = event_payload(event)
        delivery_id = delivery_id_for(target.webhook_id, event.id)
        started, delay = time.monotonic(), settings.initial_backoff
        # Only the event at a fresh claim's cursor can have attempts from before (a restart).
        attempt = await asyncio.to_thread(self.service.attempts_made, target.webhook_id, delivery_id) if resumed else 0
        client = self._http()
        while True:
            attempt += 1
            try:
                check_target(target.url, allowed_targets=settings.allowed_targets)
                body, headers = _request(target, event, payload, secret=resolve_secret(target.secret_ref),
                                         delivery_id=delivery_id)
            except Exception as exc:  # noqa: BLE001 - a refused target or missing secret is a failed attempt
                result_ok, status, latency, snippet = False, None, 0, None
                error: str | None = str(exc)
            else:
                result = await post_payload(client, target.url, body, headers)
                result_ok, status, latency, error, snippet = (result.ok, result.status_code, result.latency_ms,
                                                              result.error, result.snippet)
            elapsed = time.monotonic() - started
            give_up = not result_ok and elapsed + delay > settings.retry_window
            outcome = "SUCCEEDED" if result_ok else ("FAILED" if give_up else "RETRYING")
            book.rows.append(attempt_row(
                target.webhook_id, delivery_id=delivery_id, event_id=event.id, event_type=payload["type"],
                attempt=attempt, outcome=outcome, status_code=status, latency_ms=latency, error=error,
                snippet=snippet))
            if outcome != "RETRYING":
                if give_up:
                    log.warning("webhook %s: gave up on event %s after %d attempts: %s", target.webhook_id,
                                event.id, attempt, error)
                return  # the caller moves the cursor past the event
            await self._flush(target.webhook_id, book)  # a failing receiver's attempts show at once
            await self._wait_holding(target.webhook_id, delay)
            delay = min(delay * 2, settings.max_backoff)

    async def _wait_holding(self, webhook_id: str, seconds: float) -> None:
        """Sleep ``seconds`` while renewing the lease, so no other process takes the event over."""
        deadline = time.monotonic() + seconds
        while True:
            if await asyncio.to_thread(self.service.claim, webhook_id, owner=self.owner,
                                       ttl_ms=self._ttl_ms) is None:
                raise _Lost
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, self.settings.lease_seconds / 3))
