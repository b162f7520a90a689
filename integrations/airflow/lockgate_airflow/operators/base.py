"""What every Lockgate operator shares: the hook, and checks of rendered template values."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from lockgate_airflow.hooks.lockgate import LockgateHook

__all__ = ["hook_for", "rendered_name", "rendered_run_id", "rendered_version"]

_RUN_ID = re.compile(r"^[0-9a-fA-F]{32}$|^[0-9a-fA-F-]{36}$")
_NONSENSE = {"", "none", "null", "undefined", "nan"}


def _bad(field: str, value: Any, wanted: str) -> Exception:
    from lockgate.errors import InvalidArgument

    return InvalidArgument(
        f"{field} rendered to {value!r}, which is not {wanted}. Check the template or the upstream "
        "task that should have produced it."
    )


def rendered_name(field: str, value: Any) -> str:
    """A non-empty name; templates that rendered to "None" or "" are refused."""
    if not isinstance(value, str) or value.strip().lower() in _NONSENSE or "{{" in value:
        raise _bad(field, value, "a name")
    return value.strip()


def rendered_run_id(field: str, value: Any) -> str:
    """A Lockgate run id (32 hex digits, or a UUID with dashes)."""
    if isinstance(value, str) and _RUN_ID.match(value.strip()):
        return value.strip()
    raise _bad(field, value, "a Lockgate run id (32 hexadecimal digits)")


def rendered_version(field: str, value: Any) -> int:
    """A positive version number; "3" is accepted, "abc", "0" and "None" are not."""
    if isinstance(value, bool):
        raise _bad(field, value, "a model version number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise _bad(field, value, "a model version number")
    if number < 1:
        raise _bad(field, value, "a model version number (versions start at 1)")
    return number


class LockgateOperatorMixin:
    """``self.hook`` for operators with a ``lockgate_conn_id``."""

    lockgate_conn_id: str

    @cached_property
    def hook(self) -> LockgateHook:
        """The hook for this operator's connection."""
        return LockgateHook(self.lockgate_conn_id)


def hook_for(conn_id: str) -> LockgateHook:
    """A hook for ``conn_id``."""
    return LockgateHook(conn_id)
