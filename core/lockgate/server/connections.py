"""uvicorn HTTP protocols that survive connection floods: idle sockets are closed, not hoarded.

Stock uvicorn starts its keep-alive timer only after a first response, so a socket that
connects and never sends stays open for ever, and ``limit_concurrency`` then answers every
real request with 503 because the idle sockets count against it. These protocols

- arm the idle timer as soon as a connection is made (``keep_alive`` seconds to send a request);
- cap open connections per worker at ``max_connections``: when the cap is reached the oldest
  *idle* connections are closed to make room, and a new connection is refused only when every
  open connection is busy with a request.

``lockgate server`` passes ``"lockgate.server.connections:GuardedHttpToolsProtocol"`` (or the
h11 twin) to uvicorn; each worker reads the limits from ``LOCKGATE_SERVER_*`` once.
"""

from __future__ import annotations

import functools
import logging
import resource
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from lockgate.server.limits import ServerLimits

__all__ = [
    "GuardedH11Protocol",
    "GuardedHttpToolsProtocol",
    "effective_max_connections",
    "protocol_path",
    "raise_open_file_limit",
]

logger = logging.getLogger("lockgate.server")

# File handles kept back for the database pool, artifact files, logs and the listening socket.
_RESERVED_FILES = 128


@functools.cache
def _limits() -> ServerLimits:
    return ServerLimits.from_env()


@functools.cache
def _connection_cap() -> int:
    # Once per worker: reading the open-file limit on every accept cost ~2% of a small request's
    # CPU with one connection per request; the limit is raised before the workers start.
    return effective_max_connections(_limits().max_connections)


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to the hard limit; returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def effective_max_connections(requested: int, *, open_files: int | None = None) -> int:
    """``requested``, lowered so connections can never use up the process's file handles."""
    soft = open_files if open_files is not None else resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return requested
    return max(2, min(requested, soft - _RESERVED_FILES))


def _is_idle(protocol: Any) -> bool:
    cycle = getattr(protocol, "cycle", None)
    return cycle is None or bool(cycle.response_complete)


class _Guarded:
    """Mixed into uvicorn's protocol classes (which own ``connections``, ``transport``, ``loop``)."""

    connections: set[Any]
    transport: Any
    loop: Any
    timeout_keep_alive: Any
    timeout_keep_alive_task: Any

    def _guard_connection(self) -> bool:
        """Make room under the cap; False when this new connection has to be refused."""
        limit = _connection_cap()
        self.timeout_keep_alive = _limits().keep_alive
        self._made_at = self.loop.time()
        if len(self.connections) > limit:
            # Close the oldest idle tenth at once, so a flood does not pay a scan per accept.
            idle = sorted((c for c in self.connections if c is not self and _is_idle(c)),
                          key=lambda c: getattr(c, "_made_at", 0.0))
            excess = len(self.connections) - limit
            for victim in idle[: max(excess, limit // 10)]:
                victim.transport.close()
            if not idle:
                logger.warning("Refusing a connection: all %d connections are busy.", limit)
                self.transport.close()
                return False
        # Stock uvicorn only times out idle connections after a first response; start now.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler  # type: ignore[attr-defined]
        )
        return True


class GuardedH11Protocol(_Guarded, H11Protocol):
    """uvicorn's h11 protocol with the idle timer and the connection cap."""

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._guard_connection()


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is in uvicorn[standard], which we depend on
    GuardedHttpToolsProtocol: Any = None
else:

    class GuardedHttpToolsProtocol(_Guarded, HttpToolsProtocol):  # type: ignore[no-redef]
        """uvicorn's httptools protocol with the idle timer and the connection cap."""

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._guard_connection()


def protocol_path() -> str:
    """The import path uvicorn's ``http=`` option takes (httptools when installed)."""
    if GuardedHttpToolsProtocol is not None:
        return "lockgate.server.connections:GuardedHttpToolsProtocol"
    return "lockgate.server.connections:GuardedH11Protocol"
