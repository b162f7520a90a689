"""Read-only aggregates the web UI (and any API user) needs beyond the store protocol:
distinct param/metric/tag keys of experiments and run counts with last activity.
(Downsampled metric histories are in ``lockgate.store.sql.sampling``.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from lockgate.entities import ViewType
from lockgate.errors import InvalidArgument
from lockgate.store.sql.engine import read_connection
from lockgate.store.sql.tables import (
    LatestMetricTable,
    ParamTable,
    RunTable,
    RunTagTable,
    core_table,
)

__all__ = ["ExperimentStats", "RunKeys", "experiment_stats", "list_run_keys"]

R = core_table(RunTable)
P = core_table(ParamTable)
LM = core_table(LatestMetricTable)
T = core_table(RunTagTable)



@dataclass(frozen=True)
class ExperimentStats:
    """How many runs an experiment holds and when any of them last started or ended."""

    experiment_id: str
    runs: int
    last_activity: int | None


@dataclass(frozen=True)
class RunKeys:
    """Distinct keys per kind, sorted; ``truncated`` says a kind had more than asked for."""

    params: list[str]
    metrics: list[str]
    tags: list[str]
    truncated: bool


def _int_ids(experiment_ids: Sequence[str]) -> list[int]:
    ids = []
    for value in experiment_ids:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise InvalidArgument(f"Experiment id {value!r} is not a number.") from None
    return ids


def experiment_stats(store: Any, experiment_ids: Sequence[str]) -> list[ExperimentStats]:
    """Active run counts and last activity (latest start or end time) per experiment."""
    ids = _int_ids(experiment_ids)
    found: dict[int, tuple[int, int | None]] = {}
    if ids:
        last = func.max(func.coalesce(R.c.end_time, R.c.start_time))
        stmt = (
            select(R.c.experiment_id, func.count(), last)
            .where(R.c.experiment_id.in_(ids), R.c.lifecycle_stage == "active")
            .group_by(R.c.experiment_id)
        )
        with read_connection(store.engine) as conn:
            found = {row[0]: (int(row[1]), row[2]) for row in conn.execute(stmt)}
    return [
        ExperimentStats(str(i), found.get(i, (0, None))[0], found.get(i, (0, None))[1]) for i in ids
    ]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_run_keys(
    store: Any,
    experiment_ids: Sequence[str],
    *,
    contains: str = "",
    max_results: int = 1000,
    view_type: ViewType = ViewType.ACTIVE_ONLY,
) -> RunKeys:
    """The distinct param, metric and tag keys used by runs of these experiments.

    ``contains`` keeps keys holding that text (case-insensitive); at most ``max_results``
    keys per kind come back, so a chooser over thousands of keys stays small.
    """
    if not 1 <= max_results <= 10_000:
        raise InvalidArgument(f"max_results must be between 1 and 10000, not {max_results}.")
    ids = _int_ids(experiment_ids)
    runs = select(R.c.run_uuid).where(
        R.c.experiment_id.in_(ids), R.c.lifecycle_stage.in_(ViewType(view_type).stages())
    )
    result: dict[str, list[str]] = {}
    truncated = False
    with read_connection(store.engine) as conn:
        for name, table in (("params", P), ("metrics", LM), ("tags", T)):
            stmt = select(table.c.key).where(table.c.run_uuid.in_(runs)).distinct()
            if contains:
                pattern = f"%{_escape_like(contains.lower())}%"
                stmt = stmt.where(func.lower(table.c.key).like(pattern, escape="\\"))
            keys = [row[0] for row in conn.execute(stmt.order_by(table.c.key).limit(max_results + 1))]
            truncated = truncated or len(keys) > max_results
            result[name] = keys[:max_results]
    return RunKeys(params=result["params"], metrics=result["metrics"], tags=result["tags"], truncated=truncated)
