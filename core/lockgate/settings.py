"""Where Lockgate keeps things: home directory, tracking URI and artifact root.

With no configuration everything lives in ``~/.lockgate``: the tracking database is
``~/.lockgate/lockgate.db`` (SQLite) and artifacts go under ``~/.lockgate/artifacts``.
``LOCKGATE_HOME``, ``LOCKGATE_TRACKING_URI`` and ``LOCKGATE_ARTIFACT_ROOT`` override them.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "default_artifact_root",
    "env_float",
    "home_dir",
    "is_http_uri",
    "set_tracking_uri",
    "tracking_uri",
]

_tracking_uri_override: str | None = None


def home_dir() -> Path:
    """The Lockgate home directory (``LOCKGATE_HOME``, default ``~/.lockgate``)."""
    return Path(os.environ.get("LOCKGATE_HOME") or Path.home() / ".lockgate").expanduser()


def set_tracking_uri(uri: str | None) -> None:
    """Point this process at a tracking store; ``None`` returns to the environment's choice."""
    global _tracking_uri_override
    _tracking_uri_override = uri


def tracking_uri() -> str:
    """The tracking store URI in force: set_tracking_uri(), then the environment, then SQLite."""
    if _tracking_uri_override:
        return _tracking_uri_override
    env = os.environ.get("LOCKGATE_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{home_dir() / 'lockgate.db'}"


def default_artifact_root() -> str:
    """Where new experiments keep artifacts unless told otherwise."""
    env = os.environ.get("LOCKGATE_ARTIFACT_ROOT")
    if env:
        return env
    return str(home_dir() / "artifacts")


def is_http_uri(uri: str) -> bool:
    """True when the URI names a Lockgate server rather than a database."""
    return uri.startswith(("http://", "https://"))


def env_float(name: str, default: float, *, minimum: float) -> float:
    """The number in environment variable ``name`` (``default`` when unset or blank);
    InvalidArgument naming the variable for text that is not a number or is below ``minimum``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        from lockgate.errors import InvalidArgument

        raise InvalidArgument(f"{name}={raw!r} is not a number.") from None
    if not value >= minimum:
        from lockgate.errors import InvalidArgument

        raise InvalidArgument(f"{name}={value} is below the minimum of {minimum}.")
    return value
