"""What keeps webhooks safe: URL and target checks, secret storage, and the signature.

Targets: http(s) only, and a host that resolves to a private, loopback, link-local or
otherwise non-public address is refused unless the operator's allow-list
(``LOCKGATE_WEBHOOK_ALLOWED_TARGETS``) names it; the check runs when a webhook is saved and
again before every delivery (the name may resolve differently later).

Secrets are never returned by any API: ``env:VAR`` references are read from the delivering
server's environment, and literal secrets are encrypted with Fernet under the server's
``LOCKGATE_WEBHOOK_ENCRYPTION_KEY``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import socket
from urllib.parse import urlsplit

from lockgate.errors import InvalidArgument
from lockgate.webhooks.settings import ENV_ALLOWED_TARGETS, ENV_ENCRYPTION_KEY

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "check_target",
    "encrypt_secret",
    "env_secret_ref",
    "resolve_secret",
    "sign",
    "validate_url",
]

SIGNATURE_HEADER = "X-Lockgate-Signature"
TIMESTAMP_HEADER = "X-Lockgate-Timestamp"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def sign(secret: str, *, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``"<timestamp>." + body``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def validate_url(url: object) -> str:
    """``url`` stripped, if it is an absolute http(s) URL with a host; InvalidArgument otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidArgument("A webhook needs a URL (http:// or https://).")
    text = url.strip()
    if len(text) > 2048:
        raise InvalidArgument("Webhook URL is longer than 2048 characters.")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise InvalidArgument(f"Invalid webhook URL {text!r}: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidArgument(f"Invalid webhook URL {text!r}: the scheme must be http or https, not "
                              f"{parts.scheme or 'missing'!r}.")
    if not parts.hostname:
        raise InvalidArgument(f"Invalid webhook URL {text!r}: it names no host.")
    if parts.username or parts.password:
        raise InvalidArgument(f"Invalid webhook URL {text!r}: credentials in the URL are not allowed; "
                              "the receiver checks the signature instead.")
    return text


def _allowed(host: str, addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
             allow: tuple[str, ...]) -> bool:
    for item in allow:
        try:
            net = ipaddress.ip_network(item, strict=False)
        except ValueError:
            if item.lower() == host.lower():
                return True
            continue
        if addresses and all(a in net for a in addresses):
            return True
    return False


def check_target(url: str, *, allowed_targets: tuple[str, ...]) -> None:
    """Refuse a URL whose host is (or resolves to) a non-public address and is not allowed.

    InvalidArgument names the address and the setting that would allow it. A name that does
    not resolve passes here (the receiver may be down); the delivery records the failure.
    """
    host = urlsplit(url).hostname or ""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError):
            return
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    blocked = [a for a in addresses if not a.is_global or a.is_multicast]
    if blocked and not _allowed(host, addresses, allowed_targets):
        raise InvalidArgument(
            f"Webhook target {host!r} resolves to non-public address {blocked[0]}; private, loopback and "
            f"link-local targets are refused unless the server's {ENV_ALLOWED_TARGETS} lists the host "
            "or its network."
        )


def env_secret_ref(name: str) -> str:
    """The stored form of a secret read from the server's environment variable ``name``;
    InvalidArgument if the name is malformed or the variable is not set in this process."""
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        raise InvalidArgument(f"Invalid environment variable name {name!r} for the webhook secret.")
    if not os.environ.get(name):
        raise InvalidArgument(
            f"The webhook secret's environment variable {name} is not set (or empty) on the server that "
            "delivers webhooks; set it there before creating the webhook."
        )
    return f"env:{name}"


def _fernet():  # type: ignore[no-untyped-def]
    key = os.environ.get(ENV_ENCRYPTION_KEY, "").strip()
    if not key:
        raise InvalidArgument(
            f"This server cannot store webhook secrets: set {ENV_ENCRYPTION_KEY} (a Fernet key) on the server, "
            "or give the secret as an environment variable reference (secret_env / --secret-env)."
        )
    try:
        from cryptography.fernet import Fernet
    except ImportError:
        raise InvalidArgument(
            "Storing webhook secrets needs the `cryptography` package: pip install 'lockgate[server]'."
        ) from None
    try:
        return Fernet(key.encode())
    except ValueError:
        raise InvalidArgument(f"{ENV_ENCRYPTION_KEY} is not a valid Fernet key (32 url-safe base64 bytes).") from None


def encrypt_secret(secret: str) -> str:
    """The stored form of a literal secret: encrypted with the server's key."""
    if not isinstance(secret, str) or not secret:
        raise InvalidArgument("A webhook needs a secret (the receiver uses it to check the signature).")
    if len(secret) > 1024:
        raise InvalidArgument("The webhook secret is longer than 1024 characters.")
    return "fernet:" + _fernet().encrypt(secret.encode()).decode()


def resolve_secret(ref: str) -> str:
    """The secret a stored reference names; InvalidArgument if it can no longer be read."""
    kind, _, value = ref.partition(":")
    if kind == "env":
        secret = os.environ.get(value, "")
        if not secret:
            raise InvalidArgument(f"The webhook secret's environment variable {value} is not set on this server.")
        return secret
    if kind == "fernet":
        from cryptography.fernet import InvalidToken

        try:
            return str(_fernet().decrypt(value.encode()).decode())
        except InvalidToken:
            raise InvalidArgument(f"The webhook secret cannot be decrypted with this server's {ENV_ENCRYPTION_KEY}."
                                  ) from None
    raise InvalidArgument("The webhook's stored secret has an unknown form.")
