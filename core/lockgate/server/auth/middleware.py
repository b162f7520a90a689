"""Authentication middleware: HTTP Basic (password or API token) and Bearer tokens.

It runs before routing, answers 401 with a JSON error when credentials are missing, wrong or
expired (429 with Retry-After while failed logins have locked the user or the client address
out), and leaves the ``User`` in the ASGI scope for the ``Authorizer``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.concurrency import run_in_threadpool

from lockgate.server.auth.store import AuthStore, User
from lockgate.server.auth.throttle import TooManyAttempts
from lockgate.ui.server import is_ui_path

__all__ = ["PUBLIC_PATHS", "AuthMiddleware"]

PUBLIC_PATHS = frozenset({"/health", "/version", "/api/v1/openapi.json", "/docs", "/api/v1/server-info",
                          "/api/3.0/mlflow/server-info", "/ajax-api/3.0/mlflow/server-info"})


class AuthMiddleware:
    """Pure ASGI: no per-request task or body wrapping, so streaming uploads stay streaming."""

    def __init__(self, app: Any, *, state: Any) -> None:
        self.app = app
        self.state = state

    @property
    def store(self) -> AuthStore:
        store = self.state.services.auth
        assert store is not None, "AuthMiddleware needs the auth store"
        return store

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS or is_ui_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        try:
            user, problem = await self._authenticate(header.decode("latin-1"), address)
        except TooManyAttempts as exc:
            await _reply(send, 429, "REQUEST_LIMIT_EXCEEDED", str(exc),
                         [(b"retry-after", str(exc.retry_after).encode())])
            return
        if user is None:
            # The web UI shows its own login form; a Basic challenge would pop the browser's.
            ui = any(name == b"x-lockgate-ui" for name, _ in scope["headers"])
            await _unauthorized(send, problem, challenge=not ui)
            return
        scope["lockgate.user"] = user
        await self.app(scope, receive, send)

    async def _authenticate(self, header: str, address: str) -> tuple[User | None, str]:
        if not header:
            return None, ("Authentication required: send HTTP Basic credentials "
                          "(MLFLOW_TRACKING_USERNAME/PASSWORD) or a Bearer token (MLFLOW_TRACKING_TOKEN).")
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                username, sep, password = base64.b64decode(credentials, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None, "Malformed Basic credentials."
            if not sep:
                return None, "Malformed Basic credentials."
            user = await run_in_threadpool(self.store.authenticate_basic, username, password, address=address)
            return (user, "") if user else (None, "Invalid user name or password.")
        if scheme == "bearer":
            token = credentials.strip()
            user = await run_in_threadpool(self.store.authenticate_token, token)
            if user:
                return user, ""
            expired = await run_in_threadpool(self.store.token_is_expired, token)
            return None, "The API token has expired." if expired else "Invalid API token."
        return None, f"Unsupported authorization scheme {scheme!r}: use Basic or Bearer."


async def _unauthorized(send: Any, message: str, *, challenge: bool = True) -> None:
    headers = [(b"www-authenticate", b'Basic realm="lockgate"')] if challenge else []
    await _reply(send, 401, "UNAUTHENTICATED", message, headers)


async def _reply(send: Any, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    import orjson

    body = orjson.dumps({"error_code": code, "message": message})
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    })
    await send({"type": "http.response.body", "body": body})
