"""Which Lockgate run each asset step used, so the IO manager logs the model into that run.

The asset body and its IO manager's ``handle_output`` run in the same process (whichever
executor Dagster uses), so a process-local map is enough; the IO manager falls back to a
tag search when the map has nothing (a step retried in a fresh process).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["StepRun", "forget_run", "lookup", "remember"]


@dataclass(frozen=True)
class StepRun:
    tracking_uri: str
    run_id: str
    experiment_id: str


# Bounded so a long-lived code server does not grow without end; entries are needed only
# between an asset body and its output handling, moments apart.
_MAX_ENTRIES = 4096
_runs: OrderedDict[tuple[str, str, str], StepRun] = OrderedDict()
_lock = threading.Lock()


def _key(dagster_run_id: str, asset_key: str, partition_key: str | None) -> tuple[str, str, str]:
    return (dagster_run_id, asset_key, partition_key if partition_key is not None else "\x00none")


def remember(dagster_run_id: str, asset_key: str, partition_key: str | None, step_run: StepRun) -> None:
    with _lock:
        _runs[_key(dagster_run_id, asset_key, partition_key)] = step_run
        while len(_runs) > _MAX_ENTRIES:
            _runs.popitem(last=False)


def lookup(dagster_run_id: str, asset_key: str, partition_key: str | None) -> StepRun | None:
    with _lock:
        return _runs.get(_key(dagster_run_id, asset_key, partition_key))


def forget_run(dagster_run_id: str) -> None:
    """Drop every entry of a finished Dagster run (keeps long-lived code servers small)."""
    with _lock:
        for key in [k for k in _runs if k[0] == dagster_run_id]:
            del _runs[key]
