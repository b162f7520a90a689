"""The custom gate rules this process may run: only those its operator installed.

A ``custom`` rule in a gate policy names a rule by its registered name, never by an import
path, so a request can only pick among functions the operator put there. A rule is
installed in one of three ways, all under the operator's control:

- an entry point in the ``lockgate.gate_rules`` group of an installed package
  (``[project.entry-points."lockgate.gate_rules"] auc_floor = "my_rules:auc_floor"``);
- ``LOCKGATE_GATE_RULES``, in the server's environment: comma-separated
  ``name=package.module:function`` entries;
- ``register_gate_rule(name, function)`` in the process (server start-up code, a test, a
  notebook using a local database).

Names are looked up lazily: nothing is imported until a policy names the rule.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from lockgate.errors import InvalidArgument

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_VAR",
    "GateRuleFunction",
    "installed_gate_rules",
    "load_gate_rule",
    "register_gate_rule",
    "unregister_gate_rule",
    "validate_rule_name",
]

ENTRY_POINT_GROUP = "lockgate.gate_rules"
ENV_VAR = "LOCKGATE_GATE_RULES"
GateRuleFunction = Callable[..., Any]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_registered: dict[str, GateRuleFunction] = {}
_lock = threading.Lock()


def validate_rule_name(name: object) -> str:
    """``name`` if it can name a rule: letters, digits, ``_ . -``, at most 100 characters."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidArgument(
            f"Invalid gate rule name {str(name)[:60]!r}: use letters, digits, '_', '.' and '-' "
            "(at most 100 characters); custom rules name an installed rule, not an import path"
        )
    return name


def register_gate_rule(name: str, function: GateRuleFunction) -> None:
    """Install ``function`` as the custom rule ``name`` in this process.

    The function is called as ``function(context, **params)`` and returns a ``RuleResult``,
    a bool, or ``(bool, message)``. Registering a name again replaces the function.
    """
    validate_rule_name(name)
    if not callable(function):
        raise InvalidArgument(f"Gate rule {name!r} must be callable, got {type(function).__name__}")
    with _lock:
        _registered[name] = function


def unregister_gate_rule(name: str) -> None:
    """Remove a rule registered with ``register_gate_rule`` (no error if it was not)."""
    with _lock:
        _registered.pop(name, None)


def _configured() -> dict[str, str]:
    """``name -> module:function`` from LOCKGATE_GATE_RULES; a malformed entry is an error."""
    raw = os.environ.get(ENV_VAR, "")
    found: dict[str, str] = {}
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        name, sep, target = entry.partition("=")
        name, target = name.strip(), target.strip()
        if not sep or not _NAME.match(name) or not _TARGET.match(target):
            raise InvalidArgument(
                f"{ENV_VAR} entry {entry[:80]!r} must look like 'name=package.module:function'"
            )
        found[name] = target
    return found


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if _NAME.match(ep.name)}


def installed_gate_rules() -> list[str]:
    """The names of every custom rule this process may run, sorted."""
    with _lock:
        names = set(_registered)
    return sorted(names | set(_configured()) | set(_entry_points()))


def _import(target: str) -> Any:
    module_name, attr = target.split(":", 1)
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def load_gate_rule(name: str) -> GateRuleFunction | None:
    """The installed rule called ``name``, or None if the operator installed no such rule.

    In-process registrations win over LOCKGATE_GATE_RULES, which wins over entry points.
    Import errors of an installed rule propagate: the caller turns them into a verdict.
    """
    with _lock:
        function = _registered.get(name)
    if function is not None:
        return function
    configured = _configured().get(name)
    if configured is not None:
        obj = _import(configured)
    else:
        ep = _entry_points().get(name)
        if ep is None:
            return None
        obj = ep.load()
    if not callable(obj):
        raise TypeError(f"installed gate rule {name!r} is not callable")
    return obj  # type: ignore[no-any-return]
