"""Lockgate for Dagster: models as assets, promotion gates as blocking asset checks.

```python
from lockgate_dagster import (
    LockgateResource, LockgateModelIOManager, build_promotion_gate_checks, build_promotion_sensor,
)
```

Importing this package imports Dagster (it is only imported where Dagster runs); the pieces
live in small modules: ``resource``, ``io_manager``, ``checks``, ``sensors``, ``tags``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "LockgateConnection": "lockgate_dagster.connection",
    "LockgateResource": "lockgate_dagster.resource",
    "LockgateModelIOManager": "lockgate_dagster.io_manager",
    "build_promotion_gate_checks": "lockgate_dagster.checks",
    "build_promotion_sensor": "lockgate_dagster.sensors",
    "sanitize_tag_value": "lockgate_dagster.tags",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lockgate_dagster' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover
    from lockgate_dagster.checks import build_promotion_gate_checks
    from lockgate_dagster.connection import LockgateConnection
    from lockgate_dagster.io_manager import LockgateModelIOManager
    from lockgate_dagster.resource import LockgateResource
    from lockgate_dagster.sensors import build_promotion_sensor
    from lockgate_dagster.tags import sanitize_tag_value
