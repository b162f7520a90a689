"""Reading tracking rows back as entities: the table handles, the row lookups every store
operation starts from, and ``load_runs``, which builds whole runs with a few queries."""

from __future__ import annotations

import gc
import json
import math
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, bindparam, select

from lockgate.entities import (
    Dataset,
    DatasetInput,
    LifecycleStage,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
)
from lockgate.errors import InvalidArgument, NotFound
from lockgate.store.projection import RunColumns
from lockgate.store.sql.tables import (
    DatasetTable,
    ExperimentTable,
    ExperimentTagTable,
    LatestMetricTable,
    MetricTable,
    ParamTable,
    RunInputTable,
    RunTable,
    RunTagTable,
    core_table,
)
from lockgate.store.validation import validate_run_id

__all__ = [
    "ET",
    "LM",
    "RI",
    "D",
    "E",
    "M",
    "P",
    "R",
    "T",
    "active_run_row",
    "experiment_id_int",
    "experiment_row",
    "gc_paused",
    "load_runs",
    "metric_value",
    "now_ms",
    "require_writable",
    "run_info",
    "run_row",
]

E = core_table(ExperimentTable)
ET = core_table(ExperimentTagTable)
R = core_table(RunTable)
P = core_table(ParamTable)
M = core_table(MetricTable)
LM = core_table(LatestMetricTable)
T = core_table(RunTagTable)
D = core_table(DatasetTable)
RI = core_table(RunInputTable)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building thousands of short-lived objects.

    They hold no cycles, yet their sheer number triggers full collections that walk every
    object of the process; that tripled the time of a 20,000-point history read.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def now_ms() -> int:
    return int(time.time() * 1000)


def experiment_id_int(experiment_id: object) -> int:
    try:
        value = int(str(experiment_id))
    except (TypeError, ValueError):
        raise InvalidArgument(f"Invalid experiment id {experiment_id!r}: expected an integer id.") from None
    if value < 0:
        raise InvalidArgument(f"Invalid experiment id {experiment_id!r}: expected a non-negative integer.")
    return value


def metric_value(value: float, is_nan: bool) -> float:
    return math.nan if is_nan else value


# Built once: every write starts with one of these lookups, and building the statement cost
# more than SQLite running it.
_EXPERIMENT_BY_ID = select(E).where(E.c.experiment_id == bindparam("experiment_id"))
_RUN_BY_ID = select(R).where(R.c.run_uuid == bindparam("run_id"))


def experiment_row(conn: Connection, experiment_id: object) -> Any:
    """The experiment's row; NotFound when there is none."""
    exp_id = experiment_id_int(experiment_id)
    row = conn.execute(_EXPERIMENT_BY_ID, {"experiment_id": exp_id}).first()
    if row is None:
        raise NotFound(f"No experiment with id {experiment_id!r}.")
    return row


def run_row(conn: Connection, run_id: str) -> Any:
    """The run's row (any lifecycle); NotFound when there is none."""
    validate_run_id(run_id)
    row = conn.execute(_RUN_BY_ID, {"run_id": run_id}).first()
    if row is None:
        raise NotFound(f"No run with id {run_id!r}.")
    return row


def active_run_row(conn: Connection, run_id: str) -> Any:
    """The run's row when it may be written to; a deleted run is refused with how to restore it."""
    row = run_row(conn, run_id)
    require_writable(run_id, row.lifecycle_stage)
    return row


def require_writable(run_id: str, lifecycle_stage: str | None) -> None:
    """Refuse a write to a run that does not exist (``None``) or is deleted."""
    if lifecycle_stage is None:
        raise NotFound(f"No run with id {run_id!r}.")
    if lifecycle_stage != "active":
        raise InvalidArgument(
            f"Run {run_id!r} is deleted; restore it with `lockgate runs restore {run_id}` before writing to it."
        )


def run_info(row: Any) -> RunInfo:
    return RunInfo(
        run_id=row.run_uuid,
        experiment_id=str(row.experiment_id),
        run_name=row.name,
        user_id=row.user_id,
        status=RunStatus(row.status),
        start_time=row.start_time,
        end_time=row.end_time,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage),
        artifact_uri=row.artifact_uri,
        parent_run_id=row.parent_run_id,
    )


def load_runs(conn: Connection, rows: Sequence[Any], columns: RunColumns | None = None) -> list[Run]:
    """Build full Run entities for ``rows`` with four queries, whatever their number;
    ``columns`` limits which params, metrics and tags are loaded."""
    if not rows:
        return []
    ids = [r.run_uuid for r in rows]
    cols = columns or RunColumns()
    metrics: dict[str, dict[str, float]] = defaultdict(dict)
    points: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    params: dict[str, dict[str, str]] = defaultdict(dict)
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    inputs: dict[str, list[DatasetInput]] = defaultdict(list)
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        if cols.metrics is None or cols.metrics:
            metric_rows = select(LM.c.run_uuid, LM.c.key, LM.c.value, LM.c.is_nan, LM.c.step,
                                 LM.c.timestamp).where(LM.c.run_uuid.in_(chunk))
            if cols.metrics is not None:
                metric_rows = metric_rows.where(LM.c.key.in_(list(cols.metrics)))
            for run_uuid, key, value, nan, step, timestamp in conn.execute(metric_rows):
                metrics[run_uuid][key] = metric_value(value, nan)
                points[run_uuid][key] = (step, timestamp)
        if cols.params is None or cols.params:
            param_rows = select(P.c.run_uuid, P.c.key, P.c.value).where(P.c.run_uuid.in_(chunk))
            if cols.params is not None:
                param_rows = param_rows.where(P.c.key.in_(list(cols.params)))
            for run_uuid, key, value in conn.execute(param_rows):
                params[run_uuid][key] = value
        if cols.tags is None or cols.tags:
            tag_rows = select(T.c.run_uuid, T.c.key, T.c.value).where(T.c.run_uuid.in_(chunk))
            if cols.tags is not None:
                tag_rows = tag_rows.where(T.c.key.in_(list(cols.tags)))
            for run_uuid, key, value in conn.execute(tag_rows):
                tags[run_uuid][key] = value
        for row in conn.execute(
            select(RI.c.run_uuid, RI.c.tags_json, D).join(D, D.c.dataset_uuid == RI.c.dataset_uuid)
            .where(RI.c.run_uuid.in_(chunk))
        ):
            inputs[row.run_uuid].append(
                DatasetInput(
                    dataset=Dataset(
                        name=row.name,
                        digest=row.digest,
                        source_type=row.source_type,
                        source=row.source,
                        schema=row.schema,
                        profile=row.profile,
                    ),
                    tags=json.loads(row.tags_json or "{}"),
                )
            )
    return [
        Run(
            info=run_info(r),
            data=RunData(metrics=metrics[r.run_uuid], metric_points=points[r.run_uuid], params=params[r.run_uuid],
                         tags=tags[r.run_uuid]),
            inputs=RunInputs(dataset_inputs=inputs[r.run_uuid]),
        )
        for r in rows
    ]
