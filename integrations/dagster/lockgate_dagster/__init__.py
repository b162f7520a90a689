"""Lockgate for Dagster: models as assets, promotion gates as blocking asset checks, project assets.

```python
from lockgate_dagster import (
    LockgateResource, LockgateModelIOManager, build_promotion_gate_checks, build_promotion_sensor,
)
```

The names load on first use, so ``import lockgate_dagster`` alone imports neither Dagster nor
the Lockgate store; the pieces live in small modules: ``resource``, ``io_manager``,
``checks``, ``sensors``, ``tags``, ``flavors``, and ``_compat`` for everything that depends on
Dagster's version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lockgate._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "LockgateConnection": "lockgate_dagster.connection",
    "LockgateResource": "lockgate_dagster.resource",
    "LockgateModelIOManager": "lockgate_dagster.io_manager",
    "build_promotion_gate_checks": "lockgate_dagster.checks",
    "build_promotion_sensor": "lockgate_dagster.sensors",
    "promotion_payload": "lockgate_dagster.sensors",
    "build_project_asset": "lockgate_dagster.projects",
    "sanitize_tag_value": "lockgate_dagster.tags",
}

__all__ = [
    "LockgateConnection",
    "LockgateModelIOManager",
    "LockgateResource",
    "build_project_asset",
    "build_promotion_gate_checks",
    "build_promotion_sensor",
    "promotion_payload",
    "sanitize_tag_value",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    from lockgate_dagster.checks import build_promotion_gate_checks
    from lockgate_dagster.connection import LockgateConnection
    from lockgate_dagster.io_manager import LockgateModelIOManager
    from lockgate_dagster.projects import build_project_asset
    from lockgate_dagster.resource import LockgateResource
    from lockgate_dagster.sensors import build_promotion_sensor, promotion_payload
    from lockgate_dagster.tags import sanitize_tag_value
