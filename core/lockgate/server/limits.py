"""How much one client may ask of the server: body sizes, connections, idle time.

Every limit has a ``LOCKGATE_SERVER_*`` variable (``lockgate server`` sets them from its
options) so that each worker process reads the same values. docs/security.md lists them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from lockgate.errors import InvalidArgument
from lockgate.settings import env_float as _float_env

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_REQUEST_BYTES",
    "ENV_BACKLOG",
    "ENV_KEEP_ALIVE",
    "ENV_MAX_CONNECTIONS",
    "ENV_MAX_REQUEST_BYTES",
    "ENV_MAX_UPLOAD_BYTES",
    "ServerLimits",
]

ENV_MAX_REQUEST_BYTES = "LOCKGATE_SERVER_MAX_REQUEST_BYTES"
ENV_MAX_UPLOAD_BYTES = "LOCKGATE_SERVER_MAX_UPLOAD_BYTES"
ENV_MAX_CONNECTIONS = "LOCKGATE_SERVER_MAX_CONNECTIONS"
ENV_KEEP_ALIVE = "LOCKGATE_SERVER_KEEP_ALIVE"
ENV_BACKLOG = "LOCKGATE_SERVER_BACKLOG"

# MLflow's largest single requests: a 16 MiB dataset profile in log-inputs, about 1 MB for a
# full log-batch. 32 MiB leaves room for both; anything larger is not an MLflow client.
DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_KEEP_ALIVE = 5.0
DEFAULT_BACKLOG = 2048


def _int_env(name: str, default: int | None, *, minimum: int) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() in ("none", "unlimited", "0") and default is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(f"{name}={raw!r} is not an integer.") from None
    if value < minimum:
        raise InvalidArgument(f"{name}={value} is below the minimum of {minimum}.")
    return value


@dataclass(frozen=True)
class ServerLimits:
    """The limits one worker enforces (``from_env`` reads the ``LOCKGATE_SERVER_*`` variables).

    ``max_request_bytes`` bounds every request body except artifact uploads, which are
    unlimited unless ``max_upload_bytes`` is set. ``max_connections`` bounds open connections
    per worker: when it is reached the oldest idle connection is closed to make room, and a new
    connection is refused only when every open one is busy. ``keep_alive`` is how long a
    connection may sit idle (before its first request or between requests).
    """

    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_upload_bytes: int | None = None
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    keep_alive: float = DEFAULT_KEEP_ALIVE
    backlog: int = DEFAULT_BACKLOG

    @classmethod
    def from_env(cls) -> ServerLimits:
        """The limits named by the environment, defaults for the rest."""
        return cls(
            max_request_bytes=_int_env(ENV_MAX_REQUEST_BYTES, DEFAULT_MAX_REQUEST_BYTES, minimum=1024)
            or DEFAULT_MAX_REQUEST_BYTES,
            max_upload_bytes=_int_env(ENV_MAX_UPLOAD_BYTES, None, minimum=1),
            max_connections=_int_env(ENV_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS, minimum=2)
            or DEFAULT_MAX_CONNECTIONS,
            keep_alive=_float_env(ENV_KEEP_ALIVE, DEFAULT_KEEP_ALIVE, minimum=0.1),
            backlog=_int_env(ENV_BACKLOG, DEFAULT_BACKLOG, minimum=1) or DEFAULT_BACKLOG,
        )

    def to_env(self) -> dict[str, str]:
        """The variables that make ``from_env`` return these limits in a worker process."""
        env = {
            ENV_MAX_REQUEST_BYTES: str(self.max_request_bytes),
            ENV_MAX_CONNECTIONS: str(self.max_connections),
            ENV_KEEP_ALIVE: str(self.keep_alive),
            ENV_BACKLOG: str(self.backlog),
        }
        if self.max_upload_bytes is not None:
            env[ENV_MAX_UPLOAD_BYTES] = str(self.max_upload_bytes)
        return env
