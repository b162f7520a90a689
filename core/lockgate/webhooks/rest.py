"""``RestWebhooks``: webhooks on a Lockgate server (``/api/v1/webhooks``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from lockgate.store.rest import RestRegistry
from lockgate.webhooks.entities import Webhook, WebhookAttempt, WebhookTestResult

__all__ = ["RestWebhooks"]


def _path(webhook_id: str) -> str:
    return "/webhooks/" + quote(str(webhook_id), safe="")


def _events(events: Sequence[str] | str | None) -> list[str] | None:
    if events is None:
        return None
    return [e.strip() for e in events.split(",")] if isinstance(events, str) else list(events)


class RestWebhooks:
    """The server's webhooks, with the caller's credentials (the server checks permissions)."""

    def __init__(self, uri: str, **kwargs: Any) -> None:
        self._http = RestRegistry(uri, **kwargs)

    def create_webhook(
        self, url: str, *, events: Sequence[str] | str, model_name: str | None = None, name: str | None = None,
        description: str | None = None, secret: str | None = None, secret_env: str | None = None,
        status: str | None = None, actor: str = "",
    ) -> Webhook:
        body = {"url": url, "events": _events(events), "model_name": model_name, "name": name,
                "description": description, "secret": secret, "secret_env": secret_env, "status": status}
        data = self._http._call("POST", "/webhooks", actor=actor,
                                json={k: v for k, v in body.items() if v is not None})
        return Webhook.model_validate(data)

    def get_webhook(self, webhook_id: str) -> Webhook:
        return Webhook.model_validate(self._http._call("GET", _path(webhook_id)))

    def list_webhooks(self, *, model_name: str | None = None, max_results: int = 100,
                      page_token: str | None = None) -> tuple[list[Webhook], str | None]:
        params: dict[str, Any] = {"max_results": max_results}
        if model_name:
            params["model_name"] = model_name
        if page_token:
            params["page_token"] = page_token
        data = self._http._call("GET", "/webhooks", params=params)
        return [Webhook.model_validate(w) for w in data["items"]], data.get("next_page_token")

    def update_webhook(
        self, webhook_id: str, *, url: str | None = None, events: Sequence[str] | str | None = None,
        name: str | None = None, description: str | None = None, secret: str | None = None,
        secret_env: str | None = None, status: str | None = None,
    ) -> Webhook:
        body = {"url": url, "events": _events(events), "name": name, "description": description,
                "secret": secret, "secret_env": secret_env, "status": status}
        data = self._http._call("PATCH", _path(webhook_id), json={k: v for k, v in body.items() if v is not None})
        return Webhook.model_validate(data)

    def delete_webhook(self, webhook_id: str) -> None:
        self._http._call("DELETE", _path(webhook_id))

    def list_deliveries(self, webhook_id: str, *, limit: int = 100) -> list[WebhookAttempt]:
        data = self._http._call("GET", _path(webhook_id) + "/deliveries", params={"limit": limit})
        return [WebhookAttempt.model_validate(a) for a in data]

    def test_webhook(self, webhook_id: str) -> WebhookTestResult:
        return WebhookTestResult.model_validate(self._http._call("POST", _path(webhook_id) + "/test"))
