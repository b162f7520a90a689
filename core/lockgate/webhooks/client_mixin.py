"""``WebhooksClientMixin``: the webhook methods of ``LockgateClient``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from lockgate import settings

if TYPE_CHECKING:
    from lockgate.registry.base import ModelRegistry
    from lockgate.webhooks.base import Webhooks
    from lockgate.webhooks.entities import Webhook, WebhookAttempt, WebhookTestResult

__all__ = ["WebhooksClientMixin"]


class WebhooksClientMixin:
    """Registry webhooks on the client: on the local database or the server it talks to."""

    user: str
    tracking_uri: str
    _token: str | None

    if TYPE_CHECKING:

        @property
        def _registry(self) -> ModelRegistry: ...

    @property
    def _webhooks(self) -> Webhooks:
        cached: Any = self.__dict__.get("_webhook_backend")
        if cached is None:
            if settings.is_http_uri(self.tracking_uri):
                from lockgate.webhooks.rest import RestWebhooks

                cached = RestWebhooks(self.tracking_uri, token=self._token) if self._token else RestWebhooks(
                    self.tracking_uri)
            else:
                from lockgate.registry.sql import SqlRegistry
                from lockgate.webhooks.service import WebhookService

                cached = WebhookService(cast(SqlRegistry, self._registry))
            self.__dict__["_webhook_backend"] = cached
        return cast("Webhooks", cached)

    def create_webhook(
        self, url: str, *, events: Sequence[str] | str, model_name: str | None = None, name: str | None = None,
        description: str | None = None, secret: str | None = None, secret_env: str | None = None,
        status: str | None = None,
    ) -> Webhook:
        """A webhook POSTing the given event types (``model_version.promoted`` ...) of one model
        (or, for admins, of all) to ``url``, signed with the secret in the server's environment
        variable ``secret_env`` or with ``secret`` (stored encrypted). Delivery starts with the
        next event; ``lockgate server`` processes deliver."""
        return self._webhooks.create_webhook(
            url, events=events, model_name=model_name, name=name, description=description, secret=secret,
            secret_env=secret_env, status=status, actor=self.user)

    def get_webhook(self, webhook_id: str) -> Webhook:
        """One webhook (never its secret)."""
        return self._webhooks.get_webhook(webhook_id)

    def list_webhooks(self, *, model_name: str | None = None) -> list[Webhook]:
        """Every webhook (of one model if given) the caller may manage, oldest first."""
        found: list[Webhook] = []
        token: str | None = None
        while True:
            page, token = self._webhooks.list_webhooks(model_name=model_name, max_results=1000, page_token=token)
            found.extend(page)
            if not token:
                return found

    def update_webhook(
        self, webhook_id: str, *, url: str | None = None, events: Sequence[str] | str | None = None,
        name: str | None = None, description: str | None = None, secret: str | None = None,
        secret_env: str | None = None, status: str | None = None,
    ) -> Webhook:
        """Change the given fields (``status="DISABLED"`` pauses delivery; events wait at the cursor)."""
        return self._webhooks.update_webhook(webhook_id, url=url, events=events, name=name, description=description,
                                             secret=secret, secret_env=secret_env, status=status)

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook and its delivery log; pending retries stop."""
        self._webhooks.delete_webhook(webhook_id)

    def test_webhook(self, webhook_id: str) -> WebhookTestResult:
        """Send a signed ``webhook.test`` ping now and report what the receiver answered."""
        return self._webhooks.test_webhook(webhook_id)

    def list_webhook_deliveries(self, webhook_id: str, *, limit: int = 100) -> list[WebhookAttempt]:
        """The webhook's newest delivery attempts, newest first: status, latency, answer snippet."""
        return self._webhooks.list_deliveries(webhook_id, limit=limit)
