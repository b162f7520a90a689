"""One signed POST of a payload to a webhook URL, and what came of it.

Redirects are never followed (a 3xx is a failed attempt naming where it pointed), the
answer is cut to a short snippet for the delivery log, and every failure becomes a message
rather than an exception.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lockgate.webhooks.security import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

if TYPE_CHECKING:  # imported where a POST is made: the server imports this module at start
    import httpx

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "AttemptResult",
    "post_payload",
    "post_payload_sync",
    "signed_request",
]

DELIVERY_HEADER = "X-Lockgate-Delivery"
EVENT_HEADER = "X-Lockgate-Event"
SNIPPET_CHARS = 500


@dataclass(frozen=True)
class AttemptResult:
    """The receiver's status and answer snippet, or the error; ``ok`` for a 2xx."""

    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None
    snippet: str | None


def signed_request(payload: dict[str, Any], *, secret: str, delivery_id: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery: compact JSON, signed over ``timestamp.body``."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Lockgate-Webhooks/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp=timestamp, body=body),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: str(payload.get("type", "")),
    }
    return body, headers


def _result(response: httpx.Response | None, error: BaseException | None, started: float,
            content: bytes = b"") -> AttemptResult:
    import httpx

    latency = int((time.perf_counter() - started) * 1000)
    if response is None:
        if isinstance(error, httpx.TimeoutException):
            message = f"timed out after {latency} ms ({type(error).__name__})"
        else:
            message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return AttemptResult(ok=False, status_code=None, latency_ms=latency, error=message, snippet=None)
    snippet = content.decode("utf-8", errors="replace")[:SNIPPET_CHARS]
    if response.is_redirect:
        where = response.headers.get("location", "?")
        return AttemptResult(ok=False, status_code=response.status_code, latency_ms=latency,
                             error=f"redirect to {where} not followed", snippet=snippet)
    ok = 200 <= response.status_code < 300
    return AttemptResult(ok=ok, status_code=response.status_code, latency_ms=latency,
                         error=None if ok else f"receiver answered {response.status_code}", snippet=snippet)


async def post_payload(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
    """POST on the dispatcher's client (its timeout applies); never raises for HTTP failures."""
    import httpx

    started = time.perf_counter()
    try:
        async with client.stream("POST", url, content=body, headers=headers) as response:
            return _result(response, None, started, await _read_capped(response))
    except httpx.HTTPError as exc:
        return _result(None, exc, started)


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > 8 * SNIPPET_CHARS:
            break  # the log keeps a snippet; a large answer is not read to its end
    return b"".join(chunks)


def post_payload_sync(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> AttemptResult:
    """The same POST for a one-off test ping from synchronous code."""
    import httpx

    started = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(url, content=body, headers=headers)
        return _result(response, None, started, response.content[: 8 * SNIPPET_CHARS])
    except httpx.HTTPError as exc:
        return _result(None, exc, started)
