"""Lockgate for Prefect: flows that track themselves, registry and project tasks, gate events.

``LockgateCredentials`` is imported eagerly so that Prefect, loading this package through
its ``prefect.collections`` entry point, registers the block type; everything else is
loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lockgate._lazy import lazy_exports

from lockgate_prefect.credentials import LockgateCredentials as LockgateCredentials

_EXPORTS: dict[str, str] = {
    "tracked": "lockgate_prefect.tracking",
    "BatchPrediction": "lockgate_prefect.tasks",
    "register_model_version": "lockgate_prefect.tasks",
    "promote_model": "lockgate_prefect.tasks",
    "load_model": "lockgate_prefect.tasks",
    "batch_predict": "lockgate_prefect.tasks",
    "wait_for_promotion": "lockgate_prefect.tasks",
    "run_project": "lockgate_prefect.projects",
    "EVENT_PROMOTED": "lockgate_prefect.events",
    "EVENT_GATE_FAILED": "lockgate_prefect.events",
    "EVENT_TYPE_LABEL": "lockgate_prefect.events",
}

__all__ = [
    "EVENT_GATE_FAILED",
    "EVENT_PROMOTED",
    "EVENT_TYPE_LABEL",
    "BatchPrediction",
    "LockgateCredentials",
    "batch_predict",
    "load_model",
    "promote_model",
    "register_model_version",
    "run_project",
    "tracked",
    "wait_for_promotion",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    from lockgate_prefect.events import EVENT_GATE_FAILED, EVENT_PROMOTED, EVENT_TYPE_LABEL
    from lockgate_prefect.projects import run_project
    from lockgate_prefect.tasks import (
        BatchPrediction,
        batch_predict,
        load_model,
        promote_model,
        register_model_version,
        wait_for_promotion,
    )
    from lockgate_prefect.tracking import tracked
