"""``WebhookService``: webhooks on the registry's SQL database, the one place their rules live.

Every surface (``LockgateClient``, ``/api/v1/webhooks``, MLflow's ``/webhooks`` endpoints,
``lockgate webhooks``) calls this. It validates subscriptions, stores them with a cursor
starting at the newest registry event (a new webhook gets events from its creation on), keeps
the delivery log, and gives the dispatcher its lease and cursor operations: a process may
deliver for a webhook only while it holds the webhook's lease, and moves the cursor only
under that same condition, so each event is delivered by one process.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

from lockgate.errors import InvalidArgument, NotFound
from lockgate.store.sql.engine import read_connection, write_connection
from lockgate.store.sql.registry_tables import RegistryEventTable
from lockgate.store.sql.webhook_tables import WebhookAttemptTable, WebhookTable
from lockgate.webhooks.delivery import post_payload_sync, signed_request
from lockgate.webhooks.entities import Webhook, WebhookAttempt, WebhookTestResult
from lockgate.webhooks.mlflow_format import (
    LOCKGATE_FORMAT,
    MLFLOW_FORMAT,
    PAYLOAD_FORMATS,
    example_request,
)
from lockgate.webhooks.payload import parse_event_types, ping_payload
from lockgate.webhooks.security import (
    check_target,
    encrypt_secret,
    env_secret_ref,
    resolve_secret,
    validate_url,
)
from lockgate.webhooks.settings import WebhookSettings

if TYPE_CHECKING:
    from lockgate.registry.sql import SqlRegistry

__all__ = ["DeliveryTarget", "WebhookService", "attempt_row", "delivery_id_for"]

_W = WebhookTable
_A = WebhookAttemptTable
_E = RegistryEventTable
_STATUSES = ("ACTIVE", "DISABLED")
_MAX_PAGE = 1000


def _now() -> int:
    return int(time.time() * 1000)


def delivery_id_for(webhook_id: str, event_id: int) -> str:
    """The delivery id of one event to one webhook: the same on every attempt and every
    process, so a receiver can drop a repeat (delivery is at-least-once)."""
    return str(uuid.uuid5(uuid.UUID(hex=webhook_id), str(event_id)))


@dataclass(frozen=True)
class DeliveryTarget:
    """What the dispatcher needs of one active webhook."""

    webhook_id: str
    url: str
    events: frozenset[str]
    model_name: str | None
    secret_ref: str
    cursor: int
    payload_format: str = "lockgate"


def _delivery_target(r: Any) -> DeliveryTarget:
    return DeliveryTarget(webhook_id=r.webhook_id, url=r.url, events=frozenset(json.loads(r.events)),
                          model_name=r.model_name, secret_ref=r.secret_ref, cursor=r.cursor,
                          payload_format=r.payload_format)


def _webhook(row: Any) -> Webhook:
    ref = str(row.secret_ref)
    return Webhook(
        webhook_id=row.webhook_id, name=row.name, description=row.description, url=row.url,
        events=json.loads(row.events), model_name=row.model_name, status=row.status,
        secret_source=ref if ref.startswith("env:") else "encrypted", created_by=row.created_by,
        creation_timestamp=row.creation_timestamp, last_updated_timestamp=row.last_updated_timestamp,
        cursor=row.cursor, payload_format=row.payload_format,
    )


def _attempt(row: Any) -> WebhookAttempt:
    return WebhookAttempt(
        id=row.id, webhook_id=row.webhook_id, delivery_id=row.delivery_id, event_id=row.event_id,
        event_type=row.event_type, attempt=row.attempt, time=row.time, outcome=row.outcome,
        status_code=row.status_code, latency_ms=row.latency_ms, error=row.error,
        response_snippet=row.response_snippet,
    )


def _status(value: str | None) -> str:
    text = (value or "ACTIVE").strip().upper()
    if text not in _STATUSES:
        raise InvalidArgument(f"Invalid webhook status {value!r}: expected ACTIVE or DISABLED.")
    return text


def _text(value: str | None, what: str, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        raise InvalidArgument(f"Webhook {what} is longer than {limit} characters.")
    return value


class WebhookService:
    """Webhook subscriptions, their delivery log, and the dispatcher's lease/cursor steps."""

    def __init__(self, registry: SqlRegistry, *, settings: WebhookSettings | None = None) -> None:
        self.registry = registry
        self.engine = registry.engine
        self.settings = settings or WebhookSettings.from_env()

    # --------------------------------------------------------------- checks
    def _target(self, url: object) -> str:
        text = validate_url(url)
        check_target(text, allowed_targets=self.settings.allowed_targets)
        return text

    @staticmethod
    def _secret_ref(secret: str | None, secret_env: str | None) -> str:
        if secret and secret_env:
            raise InvalidArgument("Give the webhook secret once: either secret or secret_env, not both.")
        if secret_env:
            return env_secret_ref(secret_env)
        if secret:
            return encrypt_secret(secret)
        raise InvalidArgument(
            "A webhook needs a secret so the receiver can verify the signature: pass secret_env=VAR "
            "(--secret-env VAR, read from the server's environment) or secret=... (stored encrypted)."
        )

    def _model(self, model_name: str | None) -> str | None:
        if model_name is None or model_name == "":
            return None
        return self.registry.get_registered_model(model_name).name  # NotFound names the model

    # ----------------------------------------------------------------- CRUD
    def create_webhook(
        self, url: str, *, events: Sequence[str] | str, model_name: str | None = None, name: str | None = None,
        description: str | None = None, secret: str | None = None, secret_env: str | None = None,
        status: str | None = None, actor: str = "", payload_format: str = LOCKGATE_FORMAT,
    ) -> Webhook:
        """A new webhook delivering the given event types (of one model, or of all) from now on.

        ``payload_format`` ``"mlflow"`` sends MLflow's payload and headers (webhooks created
        through MLflow's API); the default sends Lockgate's (docs/webhooks.md)."""
        if payload_format not in PAYLOAD_FORMATS:
            raise InvalidArgument(f"Unknown webhook payload format {payload_format!r} "
                                  f"(one of {', '.join(PAYLOAD_FORMATS)}).")
        target = self._target(url)
        types = parse_event_types(list(events) if not isinstance(events, str) else events)
        model = self._model(model_name)
        ref = self._secret_ref(secret, secret_env)
        now = _now()
        webhook_id = uuid.uuid4().hex
        with write_connection(self.engine) as conn:
            head = conn.execute(select(func.coalesce(func.max(_E.c.id), 0))).scalar_one()
            conn.execute(insert(_W).values(
                webhook_id=webhook_id, name=_text(name, "name", 256) or (f"{model} webhook" if model else "webhook"),
                description=_text(description, "description", 5000), url=target, events=json.dumps(types),
                model_name=model, secret_ref=ref, status=_status(status), created_by=actor[:256],
                creation_timestamp=now, last_updated_timestamp=now, cursor=int(head), lease_owner=None,
                lease_expires=0, payload_format=payload_format,
            ))
        return self.get_webhook(webhook_id)

    def _row(self, conn: Any, webhook_id: str) -> Any:
        if not isinstance(webhook_id, str) or not webhook_id:
            raise InvalidArgument("A webhook id is required.")
        row = conn.execute(select(_W).where(_W.c.webhook_id == webhook_id)).first()
        if row is None:
            raise NotFound(f"Webhook {webhook_id!r} does not exist.")
        return row

    def get_webhook(self, webhook_id: str) -> Webhook:
        """One webhook by id; NotFound if there is none."""
        with read_connection(self.engine) as conn:
            return _webhook(self._row(conn, webhook_id))

    def list_webhooks(self, *, model_name: str | None = None, max_results: int = 100,
                      page_token: str | None = None) -> tuple[list[Webhook], str | None]:
        """One page of webhooks, oldest first (of one model if given), and the next page's token."""
        if not isinstance(max_results, int) or not 1 <= max_results <= _MAX_PAGE:
            raise InvalidArgument(f"Invalid max_results {max_results!r}: expected 1..{_MAX_PAGE}.")
        try:
            offset = int(page_token) if page_token else 0
            if offset < 0:
                raise ValueError
        except ValueError:
            raise InvalidArgument(f"Invalid page_token {page_token!r}.") from None
        query = select(_W).order_by(_W.c.creation_timestamp, _W.c.webhook_id)
        if model_name:
            query = query.where(_W.c.model_name == model_name)
        with read_connection(self.engine) as conn:
            rows = conn.execute(query.offset(offset).limit(max_results + 1)).all()
        token = str(offset + max_results) if len(rows) > max_results else None
        return [_webhook(r) for r in rows[:max_results]], token

    def update_webhook(
        self, webhook_id: str, *, url: str | None = None, events: Sequence[str] | str | None = None,
        name: str | None = None, description: str | None = None, secret: str | None = None,
        secret_env: str | None = None, status: str | None = None,
    ) -> Webhook:
        """Change the given fields; the cursor stays, so nothing is skipped or repeated."""
        values: dict[str, Any] = {}
        if url is not None:
            values["url"] = self._target(url)
        if events is not None and (isinstance(events, str) or len(events) > 0):
            values["events"] = json.dumps(parse_event_types(list(events) if not isinstance(events, str) else events))
        if name:
            values["name"] = _text(name, "name", 256)
        if description is not None:
            values["description"] = _text(description, "description", 5000)
        if secret or secret_env:
            values["secret_ref"] = self._secret_ref(secret, secret_env)
        if status:
            values["status"] = _status(status)
        with write_connection(self.engine) as conn:
            self._row(conn, webhook_id)
            if values:
                values["last_updated_timestamp"] = _now()
                conn.execute(update(_W).where(_W.c.webhook_id == webhook_id).values(**values))
        return self.get_webhook(webhook_id)

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook and its delivery log; a delivery in progress stops at its next step."""
        with write_connection(self.engine) as conn:
            self._row(conn, webhook_id)
            conn.execute(delete(_A).where(_A.c.webhook_id == webhook_id))
            conn.execute(delete(_W).where(_W.c.webhook_id == webhook_id))

    def list_deliveries(self, webhook_id: str, *, limit: int = 100) -> list[WebhookAttempt]:
        """The newest ``limit`` attempts of the webhook's deliveries, newest first."""
        if not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidArgument(f"Invalid limit {limit!r}: expected 1..10000.")
        with read_connection(self.engine) as conn:
            self._row(conn, webhook_id)
            rows = conn.execute(select(_A).where(_A.c.webhook_id == webhook_id)
                                .order_by(_A.c.id.desc()).limit(limit)).all()
        return [_attempt(r) for r in rows]

    def test_webhook(self, webhook_id: str, *, mlflow_event: str | None = None) -> WebhookTestResult:
        """POST a signed ping now, record it in the delivery log, and say how it went.

        A Lockgate webhook gets a ``webhook.test`` payload; an MLflow-format one gets MLflow's
        example payload of ``mlflow_event`` (``entity.action``, default: its first event)."""
        hook = self.get_webhook(webhook_id)
        with read_connection(self.engine) as conn:
            ref = str(self._row(conn, webhook_id).secret_ref)
        self._target(hook.url)
        delivery_id = str(uuid.uuid4())
        if hook.payload_format == MLFLOW_FORMAT:
            body, headers = example_request(mlflow_event, hook.events, secret=resolve_secret(ref),
                                            delivery_id=delivery_id)
        else:
            body, headers = signed_request(ping_payload(webhook_id=webhook_id, now_ms=_now()),
                                           secret=resolve_secret(ref), delivery_id=delivery_id)
        result = post_payload_sync(hook.url, body, headers, timeout=self.settings.timeout)
        self.record_attempt(webhook_id, delivery_id=delivery_id, event_id=None, event_type="webhook.test",
                            attempt=1, outcome="SUCCEEDED" if result.ok else "FAILED", status_code=result.status_code,
                            latency_ms=result.latency_ms, error=result.error, snippet=result.snippet)
        return WebhookTestResult(success=result.ok, status_code=result.status_code, response_body=result.snippet,
                                 error=result.error, latency_ms=result.latency_ms, delivery_id=delivery_id)

    # -------------------------------------------------- dispatcher's steps
    def due_targets(self, *, owner: str, now_ms: int) -> list[DeliveryTarget]:
        """Active webhooks behind the newest event that no other process holds."""
        head = select(func.max(_E.c.id)).scalar_subquery()
        query = select(_W).where(and_(
            _W.c.status == "ACTIVE", _W.c.cursor < head,
            or_(_W.c.lease_owner.is_(None), _W.c.lease_owner == owner, _W.c.lease_expires < now_ms),
        ))
        with read_connection(self.engine) as conn:
            rows = conn.execute(query).all()
        return [_delivery_target(r) for r in rows]

    def claim(self, webhook_id: str, *, owner: str, ttl_ms: int) -> DeliveryTarget | None:
        """Take or renew the webhook's lease (a conditional UPDATE: one process wins); the
        webhook's current settings and cursor, or None if another process holds it or it is gone."""
        now = _now()
        with write_connection(self.engine) as conn:
            claimed = conn.execute(update(_W).where(and_(
                _W.c.webhook_id == webhook_id, _W.c.status == "ACTIVE",
                or_(_W.c.lease_owner.is_(None), _W.c.lease_owner == owner, _W.c.lease_expires < now),
            )).values(lease_owner=owner, lease_expires=now + ttl_ms)).rowcount
            if claimed != 1:
                return None
            r = conn.execute(select(_W).where(_W.c.webhook_id == webhook_id)).one()
        return _delivery_target(r)

    def release(self, webhook_id: str, *, owner: str) -> None:
        """Give the lease up so any process may continue at once."""
        with write_connection(self.engine) as conn:
            conn.execute(update(_W).where(and_(_W.c.webhook_id == webhook_id, _W.c.lease_owner == owner))
                         .values(lease_owner=None, lease_expires=0))

    def release_all(self, *, owner: str) -> None:
        """Give up every lease ``owner`` holds (a server shutting down), so another process or
        the restarted server continues at once instead of after the lease expires."""
        with write_connection(self.engine) as conn:
            conn.execute(update(_W).where(_W.c.lease_owner == owner).values(lease_owner=None, lease_expires=0))

    def attempts_made(self, webhook_id: str, delivery_id: str) -> int:
        """How many attempts of one delivery the log holds (a restarted server counts on)."""
        with read_connection(self.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(_A).where(and_(
                _A.c.webhook_id == webhook_id, _A.c.delivery_id == delivery_id))).scalar_one())

    def record_attempt(
        self, webhook_id: str, *, delivery_id: str, event_id: int | None, event_type: str, attempt: int,
        outcome: str, status_code: int | None, latency_ms: int, error: str | None, snippet: str | None,
    ) -> bool:
        """Append one attempt to the delivery log; False if the webhook was deleted meanwhile."""
        with write_connection(self.engine) as conn:
            if conn.execute(select(_W.c.webhook_id).where(_W.c.webhook_id == webhook_id)).first() is None:
                return False
            conn.execute(insert(_A).values(**attempt_row(
                webhook_id, delivery_id=delivery_id, event_id=event_id, event_type=event_type, attempt=attempt,
                outcome=outcome, status_code=status_code, latency_ms=latency_ms, error=error, snippet=snippet)))
        return True

    def complete(self, webhook_id: str, *, owner: str, cursor: int, attempts: Sequence[dict[str, Any]],
                 ttl_ms: int) -> bool:
        """The dispatcher's one write per batch: move the cursor to ``cursor`` (every event up to
        it handled), append ``attempts`` (rows made by ``attempt_row``) and renew the lease, all
        only while ``owner`` holds the lease; False (nothing written) if it does not any more."""
        with write_connection(self.engine) as conn:
            moved = conn.execute(update(_W).where(and_(
                _W.c.webhook_id == webhook_id, _W.c.lease_owner == owner, _W.c.cursor <= cursor,
            )).values(cursor=cursor, lease_expires=_now() + ttl_ms)).rowcount
            if moved != 1:
                return False
            if attempts:
                conn.execute(insert(_A), list(attempts))
        return True


def attempt_row(
    webhook_id: str, *, delivery_id: str, event_id: int | None, event_type: str, attempt: int, outcome: str,
    status_code: int | None, latency_ms: int, error: str | None, snippet: str | None,
) -> dict[str, Any]:
    """One delivery-log row, stamped now, for ``WebhookService.complete``."""
    return {"webhook_id": webhook_id, "delivery_id": delivery_id, "event_id": event_id, "event_type": event_type,
            "attempt": attempt, "time": _now(), "outcome": outcome, "status_code": status_code,
            "latency_ms": latency_ms, "error": (error or None) and error[:2000], "response_snippet": snippet}

