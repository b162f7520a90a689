"""``ConnectionSettings``: where a Lockgate store is and how to authenticate, as plain data.

An Airflow connection, a Prefect block and a Dagster resource each hold these settings in
their host's idiom and turn them into a client the same way, with ``connect(settings)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, SecretStr

if TYPE_CHECKING:
    from lockgate.client import LockgateClient

__all__ = ["ConnectionSettings", "connect"]


class ConnectionSettings(BaseModel):
    """A tracking URI (None: the environment's default), an optional server token and user."""

    model_config = ConfigDict(frozen=True)

    tracking_uri: str | None = None
    token: SecretStr | None = None
    user: str | None = None

    def resolved_tracking_uri(self) -> str:
        """The tracking URI these settings point at, defaults applied."""
        from lockgate import settings

        return self.tracking_uri or settings.tracking_uri()

    def token_value(self) -> str | None:
        """The token in clear text (for the HTTP header), or None when there is none."""
        value = self.token.get_secret_value() if self.token is not None else ""
        return value or None


def connect(settings: ConnectionSettings) -> LockgateClient:
    """A ``LockgateClient`` for ``settings``: its own store, token and acting user."""
    from lockgate.client import LockgateClient

    return LockgateClient(settings.resolved_tracking_uri(), user=settings.user, token=settings.token_value())
