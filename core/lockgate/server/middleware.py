"""Pure ASGI middleware that guards every request: body limits, text checks, last-resort errors.

``RequestBodyGuard`` counts a body while it streams in and answers 413 as soon as it passes
the limit, so an oversized request never sits in memory; JSON bodies are also checked for
lone UTF-16 surrogates (``"\\ud800"``), which no database can store, and refused with 400
naming the field. ``CatchAllMiddleware`` turns any exception that escaped the error handlers
into a JSON 500 *without* re-raising it, which keeps the client's keep-alive connection
usable (Starlette's own last-resort handler re-raises, and uvicorn then drops the connection).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from lockgate.server.limits import ServerLimits

__all__ = ["UPLOAD_PREFIXES", "CatchAllMiddleware", "RequestBodyGuard", "lone_surrogate_field"]

logger = logging.getLogger("lockgate.server")

UPLOAD_PREFIXES = ("/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/")

# After the limit is passed, up to this much more is read and dropped before answering, so a
# client that sends its whole body before reading (requests, httpx) still sees the 413 rather
# than a reset connection. Nothing read is kept.
_DRAIN_BYTES = 8 * 1024 * 1024
# A \\uD800-\\uDFFF escape, or a raw UTF-8-encoded surrogate (json.loads accepts both).
_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]")
_SURROGATE_TEXT = re.compile("[\ud800-\udfff]")


def lone_surrogate_field(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (key or value) holding a lone surrogate, or None."""
    if isinstance(value, str):
        return (path or "request body") if _SURROGATE_TEXT.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _SURROGATE_TEXT.search(key):
                return f"{path}.<key>" if path else "<key>"
            found = lone_surrogate_field(item, child)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate_field(item, f"{path}[{index}]")
            if found:
                return found
    return None


async def _send_error(send: Any, status: int, code: str, message: str, *, close: bool = False) -> None:
    body = json.dumps({"error_code": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _expects_continue(scope: Any) -> bool:
    return any(name == b"expect" and value.lower() == b"100-continue" for name, value in scope["headers"])


def _declared_length(scope: Any) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestBodyGuard:
    """Body-size limits enforced while streaming, and lone-surrogate refusal for JSON bodies."""

    def __init__(self, app: Any, *, limits: ServerLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(UPLOAD_PREFIXES):
            limit = self.limits.max_upload_bytes
            if limit is None:
                await self.app(scope, receive, send)
                return
            await self._streamed(scope, receive, send, limit)
            return
        await self._buffered(scope, receive, send, self.limits.max_request_bytes)

    async def _too_large(self, receive: Any, send: Any, limit: int, *, seen: int, more: bool,
                         unread: bool = False) -> None:
        drained = 0
        while more and drained < _DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            drained += len(message.get("body", b""))
            more = message.get("more_body", False)
        await _send_error(
            send, 413, "RESOURCE_EXHAUSTED",
            f"The request body is larger than this server's limit of {limit} bytes "
            f"(at least {seen + drained} bytes were sent).",
            close=more or unread,
        )

    async def _buffered(self, scope: Any, receive: Any, send: Any, limit: int) -> None:
        """Read the whole (bounded) body first: the JSON decoder needs all of it anyway."""
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            # A client waiting for "100 Continue" has sent nothing yet: answer at once.
            await self._too_large(receive, send, limit, seen=0, more=not _expects_continue(scope),
                                 unread=True)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # disconnected before the body arrived: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > limit:
                chunks.clear()
                await self._too_large(receive, send, limit, seen=size, more=more)
                return
            if chunk:
                chunks.append(chunk)
        body = b"".join(chunks)
        if body and _SURROGATE_BYTES.search(body):
            try:
                field = lone_surrogate_field(json.loads(body))
            except ValueError:
                field = None  # not JSON: the route's own parsing answers that
            if field:
                await _send_error(
                    send, 400, "INVALID_PARAMETER_VALUE",
                    f"Invalid request: {field}: contains a lone UTF-16 surrogate (such as \\ud800), "
                    "which is not valid Unicode text.",
                )
                return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _streamed(self, scope: Any, receive: Any, send: Any, limit: int) -> None:
        """Pass chunks straight through, answering 413 once the running total passes ``limit``."""
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(receive, send, limit, seen=0, more=not _expects_continue(scope),
                                 unread=True)
            return
        size = 0
        started = False
        exceeded = False
        more = True

        async def counting_receive() -> Any:
            nonlocal size, exceeded, more
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                more = message.get("more_body", False)
                if size > limit:
                    exceeded = True
                    # The route sees a disconnect and aborts its partial upload.
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if exceeded:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._too_large(receive, send, limit, seen=size, more=more)


class CatchAllMiddleware:
    """Answers anything the error handlers missed with a JSON 500 and keeps the connection."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            from starlette.requests import ClientDisconnect, Request

            if isinstance(exc, ClientDisconnect):
                logger.info("Client disconnected during %s %s", scope["method"], scope["path"])
                return
            if started:
                logger.exception("Error after the response started on %s %s", scope["method"], scope["path"])
                return
            from lockgate.server.errors import unexpected_error_response

            response = unexpected_error_response(Request(scope), exc)
            await response(scope, receive, send)
