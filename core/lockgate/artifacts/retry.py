"""Retries for storage calls: transient network and server errors get a few more tries."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["is_transient", "with_retries"]

T = TypeVar("T")

# Raised by aiohttp/botocore/requests under different names; matching by name keeps us free of
# importing every transport a user's fsspec backend may use.
_TRANSIENT_NAMES = {
    "ClientConnectorError", "ClientConnectionError", "ServerDisconnectedError",
    "ClientOSError", "ClientPayloadError", "EndpointConnectionError", "ConnectTimeoutError",
    "ReadTimeoutError", "ConnectionClosedError", "ResponseStreamingError", "ReadTimeout",
    "ConnectTimeout", "ConnectError", "RemoteDisconnected", "IncompleteRead",
}
_TRANSIENT_MARKERS = (
    "503", "502", "504", "500 ", "SlowDown", "ServiceUnavailable", "InternalError",
    "RequestTimeout", "Throttl", "internal error", "try again", "Too Many Requests", "Service Unavailable",
)
_PERMANENT = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
              FileExistsError, ValueError, TypeError, KeyError)


def _status_of(exc: BaseException) -> int | None:
    for attr in ("status", "status_code", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int):
            return status
    return None


def is_transient(exc: BaseException) -> bool:
    """True when the error is worth retrying: connection trouble, timeouts, 5xx, throttling."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _PERMANENT):
            return False
        if isinstance(current, (ConnectionError, TimeoutError)):
            return True
        if type(current).__name__ in _TRANSIENT_NAMES:
            return True
        status = _status_of(current)
        if status is not None and (status >= 500 or status == 429):
            return True
        text = str(current)
        if any(marker in text for marker in _TRANSIENT_MARKERS):
            return True
        current = current.__cause__ or current.__context__
    return False


def with_retries(
    fn: Callable[[], T],
    *,
    attempts: int | None = None,
    base_delay: float = 0.2,
    max_delay: float = 5.0,
    what: str = "storage call",
) -> T:
    """Call ``fn`` and return its result, retrying transient failures with exponential backoff.

    ``LOCKGATE_ARTIFACT_RETRIES`` sets the number of attempts (default 4). Permanent errors
    (missing file, permission) are raised at once.
    """
    total = attempts or int(os.environ.get("LOCKGATE_ARTIFACT_RETRIES", "4"))
    delay = base_delay
    for attempt in range(1, total + 1):
        try:
            return fn()
        except Exception as exc:
            if attempt >= total or not is_transient(exc):
                raise
            time.sleep(delay)
            delay = min(delay * 2, max_delay)
    raise AssertionError(f"unreachable: {what}")  # pragma: no cover
