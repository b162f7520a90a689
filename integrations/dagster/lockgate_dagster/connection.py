"""Where Lockgate's Dagster resources connect: the fields they share and the client they build.

Both ``LockgateResource`` and ``LockgateModelIOManager`` mix in ``LockgateConnection`` so that
leaving every field unset points both at the same store: the embedded SQLite database in
``LOCKGATE_HOME`` (or ``LOCKGATE_TRACKING_URI`` when set).
"""

from __future__ import annotations

import contextlib
import inspect
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import dagster as dg
from lockgate.errors import InvalidArgument, LockgateError, ServiceUnavailable
from pydantic import Field

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

    def resolved_tracking_uri(self) -> str:
        """The tracking URI these settings point at, defaults applied."""
        from lockgate import settings

        return self.tracking_uri or settings.tracking_uri()

    def get_client(self) -> LockgateClient:
        """A LockgateClient for this store, shared by every step in the process."""
        return client_for(self.resolved_tracking_uri(), token=self.token)


def client_for(uri: str, *, token: str | None = None) -> LockgateClient:
    """The process-wide client for ``uri`` (and ``token``)."""
    key = (uri, token)
    with _lock:
        client = _clients.get(key)
        if client is None:
            from lockgate.client import LockgateClient

            kwargs = {}
            if token:
                if "token" in inspect.signature(LockgateClient.__init__).parameters:
                    kwargs["token"] = token
                elif token != os.environ.get("LOCKGATE_TRACKING_TOKEN"):
                    # This core reads server credentials only from the environment.
                    raise InvalidArgument(
                        "This Lockgate version takes the server token from LOCKGATE_TRACKING_TOKEN "
                        "only; set token=dg.EnvVar('LOCKGATE_TRACKING_TOKEN')."
                    )
            client = _clients[key] = LockgateClient(uri, **kwargs)
        return client


def _reset_for_tests() -> None:
    with _lock:
        _clients.clear()


@contextlib.contextmanager
def unreachable_as_error(uri: str) -> Iterator[None]:
    """Turn a failed connection to the tracking store into one clear ServiceUnavailable."""
    try:
        yield
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
