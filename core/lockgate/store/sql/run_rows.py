"""Reading tracking rows back as entities: the table handles, the row lookups every store
operation starts from, and ``load_runs``, which builds whole runs with a fixed number of queries."""

from __future__ import annotations

import gc
import json
import math
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, String, any_, bindparam, func, null, select
from sqlalchemy.types import ARRAY  # generic: the PostgreSQL dialect is imported only by its engine

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

E = ExperimentTable
ET = ExperimentTagTable
R = RunTable
P = ParamTable
M = MetricTable
LM = LatestMetricTable
T = RunTagTable
D = DatasetTable
RI = RunInputTable


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


class _Children:
    """The params, latest metrics, tags and dataset inputs of a page of runs, by run id."""

    def __init__(self) -> None:
        self.metrics: dict[str, dict[str, float]] = defaultdict(dict)
        self.points: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
        self.params: dict[str, dict[str, str]] = defaultdict(dict)
        self.tags: dict[str, dict[str, str]] = defaultdict(dict)
        self.inputs: dict[str, list[DatasetInput]] = defaultdict(list)

    def add_input(self, run_uuid: str, tags_json: str | None, dataset: Sequence[Any]) -> None:
        name, digest, source_type, source, schema, profile = dataset
        self.inputs[run_uuid].append(
            DatasetInput(
                dataset=Dataset(name=name, digest=digest, source_type=source_type, source=source, schema=schema,
                                profile=profile),
                tags=json.loads(tags_json or "{}"),
            )
        )


def _wanted(keys: Sequence[str] | None) -> bool:
    return keys is None or len(keys) > 0


def _children_by_rows(conn: Connection, ids: list[str], cols: RunColumns) -> _Children:
    """One query per kind of child, 500 runs at a time (SQLite: queries cost no round trip)."""
    found = _Children()
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        if _wanted(cols.metrics):
            metric_rows = select(LM.c.run_uuid, LM.c.key, LM.c.value, LM.c.is_nan, LM.c.step,
                                 LM.c.timestamp).where(LM.c.run_uuid.in_(chunk))
            if cols.metrics is not None:
                metric_rows = metric_rows.where(LM.c.key.in_(list(cols.metrics)))
            for run_uuid, key, value, nan, step, timestamp in conn.execute(metric_rows):
                found.metrics[run_uuid][key] = metric_value(value, nan)
                found.points[run_uuid][key] = (step, timestamp)
        for table, keys, into in ((P, cols.params, found.params), (T, cols.tags, found.tags)):
            if _wanted(keys):
                rows = select(table.c.run_uuid, table.c.key, table.c.value).where(table.c.run_uuid.in_(chunk))
                if keys is not None:
                    rows = rows.where(table.c.key.in_(list(keys)))
                for run_uuid, key, value in conn.execute(rows):
                    into[run_uuid][key] = value
        inputs = (
            select(RI.c.run_uuid, RI.c.tags_json, D.c.name, D.c.digest, D.c.source_type, D.c.source, D.c["schema"],
                   D.c.profile)
            .join(D, D.c.dataset_uuid == RI.c.dataset_uuid).where(RI.c.run_uuid.in_(chunk))
        )
        for row in conn.execute(inputs):
            found.add_input(row[0], row[1], row[2:])
    return found


def _children_by_json(conn: Connection, ids: list[str], cols: RunColumns) -> _Children:
    """Every child of every run in one query, aggregated to one JSON array per run and kind
    (PostgreSQL). Four queries over IN lists cost 2x as much: each is a round trip and a plan,
    and each returned row costs the driver and SQLAlchemy more than PostgreSQL building it."""
    page = func.unnest(bindparam("ids", type_=ARRAY(String))).table_valued("run_uuid").render_derived(name="page")

    def aggregate(table: Any, keys: Sequence[str] | None, *values: Any) -> Any:
        if not _wanted(keys):
            return null()
        query = select(func.json_agg(func.json_build_array(*values))).where(table.c.run_uuid == page.c.run_uuid)
        if keys is not None:
            query = query.where(table.c.key == any_(bindparam(f"{table.name}_keys", list(keys), type_=ARRAY(String))))
        return query.scalar_subquery()

    inputs = (
        select(func.json_agg(func.json_build_array(RI.c.tags_json, D.c.name, D.c.digest, D.c.source_type, D.c.source,
                                                   D.c["schema"], D.c.profile)))
        .select_from(RI.join(D, D.c.dataset_uuid == RI.c.dataset_uuid))
        .where(RI.c.run_uuid == page.c.run_uuid).scalar_subquery()
    )
    stmt = select(
        page.c.run_uuid,
        aggregate(LM, cols.metrics, LM.c.key, LM.c.value, LM.c.is_nan, LM.c.step, LM.c.timestamp),
        aggregate(P, cols.params, P.c.key, P.c.value),
        aggregate(T, cols.tags, T.c.key, T.c.value),
        inputs,
    )
    found = _Children()
    for run_uuid, metrics, params, tags, run_inputs in conn.execute(stmt, {"ids": ids}):
        for key, value, nan, step, timestamp in metrics or ():
            # JSON has no infinities: PostgreSQL writes them as the strings "Infinity" and "-Infinity".
            found.metrics[run_uuid][key] = metric_value(float(value), nan)
            found.points[run_uuid][key] = (step, timestamp)
        if params:
            found.params[run_uuid].update(params)
        if tags:
            found.tags[run_uuid].update(tags)
        for tags_json, *dataset in run_inputs or ():
            found.add_input(run_uuid, tags_json, dataset)
    return found


def load_runs(conn: Connection, rows: Sequence[Any], columns: RunColumns | None = None) -> list[Run]:
    """Build full Run entities for ``rows`` with a fixed number of queries, whatever their
    number; ``columns`` limits which params, metrics and tags are loaded."""
    if not rows:
        return []
    ids = [r.run_uuid for r in rows]
    cols = columns or RunColumns()
    if conn.dialect.name == "postgresql":
        found = _children_by_json(conn, ids, cols)
    else:
        found = _children_by_rows(conn, ids, cols)
    return [
        Run(
            info=run_info(r),
            data=RunData(metrics=found.metrics[r.run_uuid], metric_points=found.points[r.run_uuid],
                         params=found.params[r.run_uuid], tags=found.tags[r.run_uuid]),
            inputs=RunInputs(dataset_inputs=found.inputs[r.run_uuid]),
        )
        for r in rows
    ]
