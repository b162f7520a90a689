"""The native webhook API under ``/api/v1/webhooks``: subscriptions, test pings, delivery log.

A webhook of one model needs MANAGE on that model; a webhook of every model needs an admin.
Secrets go in (``secret_env`` or ``secret``) and never come back out.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from lockgate.server.auth.authorizer import Authorizer
from lockgate.server.auth.policy import Operation as Op
from lockgate.server.deps import AuthzDep, UserDep, WebhooksDep
from lockgate.server.responses import EMPTY, json_response
from lockgate.webhooks.entities import Webhook, WebhookAttempt, WebhookTestResult

__all__ = ["WebhookCreate", "WebhookUpdate", "authorize_webhook", "build_router", "may_manage"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookCreate(_In):
    url: str = Field(max_length=2048)
    events: list[str] = Field(description="Event types, e.g. model_version.promoted, gate.rejected")
    model_name: str | None = Field(default=None, description="Only this model's events (MANAGE on it needed); "
                                                             "omit for every model (admins only)")
    name: str | None = None
    description: str | None = None
    secret_env: str | None = Field(default=None, description="Environment variable on the server holding the secret")
    secret: str | None = Field(default=None, description="The secret itself (stored encrypted, never returned)")
    status: str | None = None


class WebhookUpdate(_In):
    url: str | None = Field(default=None, max_length=2048)
    events: list[str] | None = None
    name: str | None = None
    description: str | None = None
    secret_env: str | None = None
    secret: str | None = None
    status: str | None = None


def authorize_webhook(authz: Authorizer, model_name: str | None) -> None:
    """MANAGE on the webhook's model, or an admin for a webhook of every model."""
    if model_name:
        authz.require(Op.MANAGE_MODEL_WEBHOOKS, model_name)
    else:
        authz.require(Op.MANAGE_ALL_WEBHOOKS)


def may_manage(authz: Authorizer, hook: Webhook) -> bool:
    """Whether ``authorize_webhook`` would pass for ``hook`` (what lists show)."""
    if hook.model_name:
        return authz.allows(Op.MANAGE_MODEL_WEBHOOKS, hook.model_name)
    return authz.allows(Op.MANAGE_ALL_WEBHOOKS)


def _dump(entity: Any) -> Any:
    return entity.model_dump(mode="json")


def build_router(prefix: str = "") -> APIRouter:
    """The webhook endpoints under ``prefix`` (the server uses /api/v1)."""
    router = APIRouter(prefix=prefix, tags=["webhooks"])

    @router.post("/webhooks", response_model=Webhook, summary="Create a webhook for registry events")
    def create(body: WebhookCreate, hooks: WebhooksDep, user: UserDep, authz: AuthzDep) -> Response:
        authorize_webhook(authz, body.model_name)
        hook = hooks.create_webhook(body.url, events=body.events, model_name=body.model_name, name=body.name,
                                    description=body.description, secret=body.secret, secret_env=body.secret_env,
                                    status=body.status, actor=user)
        return json_response(_dump(hook))

    @router.get("/webhooks", response_model=dict[str, Any], summary="The webhooks the caller may manage")
    def list_(
        hooks: WebhooksDep,
        authz: AuthzDep,
        model_name: str | None = None,
        max_results: Annotated[int, Query(ge=1, le=1000)] = 100,
        page_token: str | None = None,
    ) -> Response:
        page, token = hooks.list_webhooks(model_name=model_name, max_results=max_results, page_token=page_token)
        return json_response({"items": [_dump(h) for h in page if may_manage(authz, h)], "next_page_token": token})

    @router.get("/webhooks/{webhook_id}", response_model=Webhook, summary="One webhook (never its secret)")
    def get(webhook_id: str, hooks: WebhooksDep, authz: AuthzDep) -> Response:
        hook = hooks.get_webhook(webhook_id)
        authorize_webhook(authz, hook.model_name)
        return json_response(_dump(hook))

    @router.patch("/webhooks/{webhook_id}", response_model=Webhook, summary="Change a webhook")
    def update(webhook_id: str, body: WebhookUpdate, hooks: WebhooksDep, authz: AuthzDep) -> Response:
        authorize_webhook(authz, hooks.get_webhook(webhook_id).model_name)
        hook = hooks.update_webhook(webhook_id, url=body.url, events=body.events, name=body.name,
                                    description=body.description, secret=body.secret, secret_env=body.secret_env,
                                    status=body.status)
        return json_response(_dump(hook))

    @router.delete("/webhooks/{webhook_id}", response_model=dict[str, Any],
                   summary="Delete a webhook and its delivery log (pending retries stop)")
    def delete(webhook_id: str, hooks: WebhooksDep, authz: AuthzDep) -> Response:
        authorize_webhook(authz, hooks.get_webhook(webhook_id).model_name)
        hooks.delete_webhook(webhook_id)
        return json_response(EMPTY)

    @router.post("/webhooks/{webhook_id}/test", response_model=WebhookTestResult,
                 summary="Send a signed test ping now")
    def test(webhook_id: str, hooks: WebhooksDep, authz: AuthzDep) -> Response:
        authorize_webhook(authz, hooks.get_webhook(webhook_id).model_name)
        return json_response(_dump(hooks.test_webhook(webhook_id)))

    @router.get("/webhooks/{webhook_id}/deliveries", response_model=list[WebhookAttempt],
                summary="The webhook's newest delivery attempts, newest first")
    def deliveries(webhook_id: str, hooks: WebhooksDep, authz: AuthzDep,
                   limit: Annotated[int, Query(ge=1, le=10000)] = 100) -> Response:
        authorize_webhook(authz, hooks.get_webhook(webhook_id).model_name)
        return json_response([_dump(a) for a in hooks.list_deliveries(webhook_id, limit=limit)])

    return router
