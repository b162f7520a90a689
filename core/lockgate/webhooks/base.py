"""``Webhooks``: what every webhook backend offers (SQL in-process, or a server over HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from lockgate.webhooks.entities import Webhook, WebhookAttempt, WebhookTestResult

__all__ = ["Webhooks"]


class Webhooks(Protocol):
    """Create, read, change, delete and test webhooks, and read their delivery log."""

    def create_webhook(
        self, url: str, *, events: Sequence[str] | str, model_name: str | None = None, name: str | None = None,
        description: str | None = None, secret: str | None = None, secret_env: str | None = None,
        status: str | None = None, actor: str = "",
    ) -> Webhook: ...
    def get_webhook(self, webhook_id: str) -> Webhook: ...
    def list_webhooks(self, *, model_name: str | None = None, max_results: int = 100,
                      page_token: str | None = None) -> tuple[list[Webhook], str | None]: ...
    def update_webhook(
        self, webhook_id: str, *, url: str | None = None, events: Sequence[str] | str | None = None,
        name: str | None = None, description: str | None = None, secret: str | None = None,
        secret_env: str | None = None, status: str | None = None,
    ) -> Webhook: ...
    def delete_webhook(self, webhook_id: str) -> None: ...
    def list_deliveries(self, webhook_id: str, *, limit: int = 100) -> list[WebhookAttempt]: ...
    def test_webhook(self, webhook_id: str) -> WebhookTestResult: ...
