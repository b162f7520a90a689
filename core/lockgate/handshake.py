"""The handshake with a Lockgate server: is it one, does it speak our API version, is the token good.

``check_server(url, token=...)`` asks ``/api/v1/server-info`` (public) for the server's API
version, and when the server requires auth, makes one authenticated call so that a wrong
or revoked token fails here with a message naming the server, instead of at the first
write. Network errors are left to the caller (``httpx.HTTPError``), which may retry them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from lockgate.errors import LockgateError, Unauthenticated

__all__ = ["API_VERSION", "IncompatibleServer", "ServerInfo", "check_server"]

#: The version of the native API (``/api/v1``) this client speaks; the server reports its own.
API_VERSION = 1


class IncompatibleServer(LockgateError):
    """The URL answers, but not as a Lockgate server of this client's API version."""

    code = "INCOMPATIBLE_SERVER"
    http_status = 400


class ServerInfo(BaseModel):
    """What the server says about itself (``/api/v1/server-info``)."""

    version: str = "unknown"
    #: Servers from before the handshake do not report it; they speak version 1.
    api_version: int = 1
    auth: bool = False
    serve_artifacts: bool = True


def _upgrade_hint(info: ServerInfo) -> str:
    from lockgate import __version__

    if info.api_version > API_VERSION:
        return f"Upgrade Lockgate where this client runs (it is {__version__}) to the server's {info.version}."
    return f"Upgrade the server (Lockgate {info.version}) to this client's {__version__}, or install " \
        f"lockgate=={info.version} where this client runs."


def check_server(url: str, *, token: str | None = None, timeout: float = 10.0) -> ServerInfo:
    """The server's info, after checking its API version and (with auth on) the token."""
    import httpx

    base = url.rstrip("/")
    response = httpx.get(f"{base}/api/v1/server-info", timeout=timeout)
    body: Any = None
    if response.status_code == 200:
        try:
            body = response.json()
        except ValueError:
            body = None
    if not isinstance(body, dict) or "version" not in body:
        raise IncompatibleServer(
            f"{base} is not a Lockgate server of API version {API_VERSION}: /api/v1/server-info answered "
            f"HTTP {response.status_code}. Check the tracking URI (a Lockgate server, e.g. http://host:5000)."
        )
    info = ServerInfo.model_validate(body)
    if info.api_version != API_VERSION:
        raise IncompatibleServer(
            f"Lockgate server {base} speaks API version {info.api_version} (Lockgate {info.version}); "
            f"this client speaks API version {API_VERSION}. {_upgrade_hint(info)}"
        )
    if info.auth:
        _check_credentials(base, token=token, timeout=timeout)
    return info


def _check_credentials(base: str, *, token: str | None, timeout: float) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{base}/api/v1/experiments/search", json={"max_results": 1}, headers=headers, timeout=timeout
    )
    if response.status_code != 401:
        return
    try:
        reason = str(response.json().get("message") or "")
    except ValueError:
        reason = ""
    if not token:
        raise Unauthenticated(
            f"Lockgate server {base} requires an API token and none was given. Create one with "
            "`lockgate users create-token USERNAME` and pass it as the token."
        )
    raise Unauthenticated(
        f"Lockgate server {base} refused the API token ({reason or 'HTTP 401'}): it is wrong, expired "
        "or revoked. Create a new one with `lockgate users create-token USERNAME`."
    )
