"""MLflow's webhook REST API (MLflow 3.3+: ``/api/2.0/mlflow/webhooks``) over Lockgate's webhooks.

The stock client's ``create_webhook``, ``list_webhooks``, ``get_webhook``, ``update_webhook``,
``delete_webhook`` and ``test_webhook`` work for the registry events MLflow knows; each maps to
Lockgate's event types (``model_version_alias.created`` is ``alias.set`` and ``alias.moved``).
MLflow webhooks have no model filter, so they are an admin's. Their deliveries use MLflow's
payload, headers and signature, so receivers written for ``mlflow server`` verify them
(``lockgate.webhooks.mlflow_format``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from lockgate.errors import InvalidArgument
from lockgate.server.deps import AuthzDep, UserDep, WebhooksDep
from lockgate.server.responses import EMPTY, json_response, paged_response
from lockgate.server.routers.native_webhooks import authorize_webhook, may_manage
from lockgate.webhooks.entities import Webhook
from lockgate.webhooks.mlflow_format import MLFLOW_EVENTS, MLFLOW_FORMAT

__all__ = ["build_router", "lockgate_events", "mlflow_events"]

class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EventRef(_Body):
    entity: str = ""
    action: str = ""


class CreateWebhook(_Body):
    name: str | None = None
    description: str | None = None
    url: str | None = None
    events: list[EventRef] = Field(default_factory=list)
    secret: str | None = None
    status: str | None = None


class UpdateWebhook(CreateWebhook):
    webhook_id: str | None = None


class TestWebhook(_Body):
    webhook_id: str | None = None
    event: EventRef | None = None


def lockgate_events(events: list[EventRef]) -> list[str]:
    """Lockgate event types for MLflow events; INVALID_PARAMETER_VALUE naming an unsupported one."""
    found: list[str] = []
    for ref in events:
        key = f"{ref.entity.lower()}.{ref.action.lower()}"
        if key not in MLFLOW_EVENTS:
            raise InvalidArgument(
                f"Webhook event {key!r} is not supported by Lockgate (supported: {', '.join(MLFLOW_EVENTS)}; "
                "Lockgate's own API also offers promotions, gate refusals, stages and policies)."
            )
        found.extend(MLFLOW_EVENTS[key])
    return found


def mlflow_events(types: list[str]) -> list[dict[str, str]]:
    """The MLflow events a webhook's Lockgate event types cover."""
    have = set(types)
    refs = []
    for key, ours in MLFLOW_EVENTS.items():
        if have.intersection(ours):
            entity, action = key.split(".")
            refs.append({"entity": entity.upper(), "action": action.upper()})
    return refs


def webhook_json(hook: Webhook) -> dict[str, Any]:
    """A webhook in MLflow's wire shape (no secret)."""
    return {
        "webhook_id": hook.webhook_id, "name": hook.name, "description": hook.description or "", "url": hook.url,
        "events": mlflow_events(hook.events), "status": hook.status,
        "creation_timestamp": hook.creation_timestamp, "last_updated_timestamp": hook.last_updated_timestamp,
    }


def build_router(prefix: str = "", *, include_in_schema: bool = True) -> APIRouter:
    """MLflow's webhook endpoints under ``prefix`` (the server uses /api/2.0/mlflow and /ajax-api/2.0/mlflow)."""
    router = APIRouter(prefix=prefix, tags=["mlflow-webhooks"], include_in_schema=include_in_schema)

    @router.post("/webhooks", summary="CreateWebhook")
    def create(body: CreateWebhook, hooks: WebhooksDep, user: UserDep, authz: AuthzDep) -> Response:
        authorize_webhook(authz, None)
        if not body.events:
            raise InvalidArgument("A webhook needs at least one event.")
        hook = hooks.create_webhook(body.url or "", events=lockgate_events(body.events), name=body.name,
                                    description=body.description, secret=body.secret, status=body.status,
                                    actor=user, payload_format=MLFLOW_FORMAT)
        return json_response({"webhook": webhook_json(hook)})

    @router.get("/webhooks", summary="ListWebhooks")
    def list_(hooks: WebhooksDep, authz: AuthzDep,
              max_results: Annotated[int | None, Query(ge=1, le=1000)] = None,
              page_token: str | None = None) -> Response:
        page, token = hooks.list_webhooks(max_results=max_results or 100, page_token=page_token)
        return paged_response("webhooks", [webhook_json(h) for h in page if may_manage(authz, h)], token)

    @router.get("/webhooks/{webhook_id}", summary="GetWebhook")
    def get(webhook_id: str, hooks: WebhooksDep, authz: AuthzDep) -> Response:
        hook = hooks.get_webhook(webhook_id)
        authorize_webhook(authz, hook.model_name)
        return json_response({"webhook": webhook_json(hook)})

    @router.patch("/webhooks/{webhook_id}", summary="UpdateWebhook")
    def update(webhook_id: str, body: UpdateWebhook, hooks: WebhooksDep, authz: AuthzDep) -> Response:
        authorize_webhook(authz, hooks.get_webhook(webhook_id).model_name)
        hook = hooks.update_webhook(
            webhook_id, url=body.url or None, events=lockgate_events(body.events) if body.events else None,
            name=body.name or None, description=body.description, secret=body.secret or None,
            status=body.status or None)
        return json_response({"webhook": webhook_json(hook)})

    @router.delete("/webhooks/{webhook_id}", summary="DeleteWebhook")
    def delete(webhook_id: str, hooks: WebhooksDep, authz: AuthzDep) -> Response:
        authorize_webhook(authz, hooks.get_webhook(webhook_id).model_name)
        hooks.delete_webhook(webhook_id)
        return json_response(EMPTY)

    @router.post("/webhooks/{webhook_id}/test", summary="TestWebhook")
    def test(webhook_id: str, body: TestWebhook, hooks: WebhooksDep, authz: AuthzDep) -> Response:
        authorize_webhook(authz, hooks.get_webhook(webhook_id).model_name)
        event = f"{body.event.entity}.{body.event.action}".lower() if body.event and body.event.entity else None
        result = hooks.test_webhook(webhook_id, mlflow_event=event)
        out: dict[str, Any] = {"success": result.success}
        if result.status_code is not None:
            out["response_status"] = result.status_code
        if result.response_body is not None:
            out["response_body"] = result.response_body
        if result.error and not result.success:
            out["error_message"] = result.error
        return json_response({"result": out})

    return router
