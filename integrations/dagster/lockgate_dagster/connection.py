"""Where Lockgate's Dagster resources connect: the fields they share and the client they build.

Both ``LockgateResource`` and ``LockgateModelIOManager`` mix in ``LockgateConnection`` so that
leaving every field unset points both at the same store: the embedded SQLite database in
``LOCKGATE_HOME`` (or ``LOCKGATE_TRACKING_URI`` when set).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import dagster as dg
from lockgate.connection import ConnectionSettings, connect
from lockgate.errors import LockgateError, ServiceUnavailable, Unauthenticated
from pydantic import Field, SecretStr

if TYPE_CHECKING:
    from lockgate.client import LockgateClient

__all__ = ["LockgateConnection", "client_for", "unreachable_as_error"]

_clients: dict[tuple[str, str | None], LockgateClient] = {}
_lock = threading.Lock()


class LockgateConnection(dg.Config):
    """Connection settings shared by the Lockgate resource and IO manager."""

    tracking_uri: str | None = Field(
        default=None,
        description=(
            "Where runs and models are tracked: sqlite:///path, postgresql+psycopg://..., or the "
            "http(s):// URL of a Lockgate server. Unset: LOCKGATE_TRACKING_URI, else the embedded "
            "SQLite database in LOCKGATE_HOME."
        ),
    )
    token: str | None = Field(
        default=None,
        description=(
            "API token for a Lockgate server. Pass dg.EnvVar('LOCKGATE_TRACKING_TOKEN') so the "
            "secret stays out of code and out of Dagster's stored config."
        ),
    )

    def connection_settings(self) -> ConnectionSettings:
        """These fields as the core's ``ConnectionSettings`` (defaults applied when connecting)."""
        return ConnectionSettings(
            tracking_uri=self.tracking_uri or None,
            token=SecretStr(self.token) if self.token else None,
        )

    def resolved_tracking_uri(self) -> str:
        """The tracking URI these settings point at, defaults applied."""
        return self.connection_settings().resolved_tracking_uri()

    def get_client(self) -> LockgateClient:
        """A LockgateClient for this store, shared by every step in the process."""
        return client_for(self.connection_settings())


def client_for(settings: ConnectionSettings) -> LockgateClient:
    """The process-wide client for ``settings`` (one per store and token)."""
    key = (settings.resolved_tracking_uri(), settings.token_value())
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = connect(settings)
        return client


def _reset_for_tests() -> None:
    with _lock:
        _clients.clear()


@contextlib.contextmanager
def unreachable_as_error(uri: str) -> Iterator[None]:
    """Turn a failed connection into one clear ServiceUnavailable, and refused credentials into an
    Unauthenticated error that names the server (the server's own message does not)."""
    try:
        yield
    except Unauthenticated as exc:
        if uri in exc.message:
            raise
        raise Unauthenticated(
            f"The Lockgate server at {_redact(uri)} refused the credentials: {exc.message} Give the "
            "resource a valid API token (token=dg.EnvVar('LOCKGATE_TRACKING_TOKEN'))."
        ) from exc
    except LockgateError:
        raise
    except OSError as exc:
        raise ServiceUnavailable(
            f"Lockgate could not reach the tracking store at {_redact(uri)}: {exc}"
        ) from exc
    except Exception as exc:
        # SQLAlchemy and httpx raise their own connection errors; name them without importing them.
        name = type(exc).__name__
        if name in {"OperationalError", "InterfaceError", "ConnectError", "ConnectTimeout",
                    "ReadTimeout", "RemoteProtocolError", "TransportError"}:
            raise ServiceUnavailable(
                f"Lockgate could not reach the tracking store at {_redact(uri)}: {name}: {exc}"
            ) from exc
        raise


def _redact(uri: str) -> str:
    """The URI without a password, fit for error messages."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else uri
    return uri
