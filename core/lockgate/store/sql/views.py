"""Read-only aggregates the web UI (and any API user) needs beyond the store protocol:
distinct param/metric/tag keys of experiments and run counts with last activity.
(Downsampled metric histories are in ``lockgate.store.sql.sampling``.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, select

from lockgate.entities import ViewType
from lockgate.errors import InvalidArgument
from lockgate.store.sql.engine import read_connection
from lockgate.store.sql.tables import (
    LatestMetricTable,
    ParamTable,
    RunTable,
    RunTagTable,
)

__all__ = ["ExperimentStats", "RunKeys", "experiment_stats", "list_run_keys"]

R = RunTable
P = ParamTable
LM = LatestMetricTable
T = RunTagTable



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
    stages = ViewType(view_type).stages()
    result: dict[str, list[str]] = {}
    truncated = False
    with read_connection(store.engine) as conn:
        for name, table in (("params", P), ("metrics", LM), ("tags", T)):
            keys = _distinct_keys(conn, table, ids, stages, contains=contains, limit=max_results + 1)
            truncated = truncated or len(keys) > max_results
            result[name] = keys[:max_results]
    return RunKeys(params=result["params"], metrics=result["metrics"], tags=result["tags"], truncated=truncated)


# Up to this many runs, the keys are read from the experiment's own runs; past it, by a walk of
# the distinct keys (see _distinct_keys).
SMALL_EXPERIMENT_RUNS = 10_000


def _distinct_keys(conn: Any, table: Any, experiment_ids: list[int], stages: Sequence[str], *,
                   contains: str, limit: int) -> list[str]:
    """Up to ``limit`` keys of ``table`` (sorted) that some run of the experiments uses.

    A small experiment's keys are read from its runs (a primary-key range per run). A large one
    walks the distinct keys on the key index, a seek per key, keeping a key when one of its rows
    belongs to a wanted run: a seek or two per key the experiment uses, where reading every row
    (SELECT DISTINCT over the runs) cost seconds at 100,000 runs with 2,000,000 params.
    """
    wanted_run = (R.c.experiment_id.in_(experiment_ids), R.c.lifecycle_stage.in_(stages))
    head = select(literal(1)).where(*wanted_run).limit(SMALL_EXPERIMENT_RUNS + 1).subquery()
    if conn.execute(select(func.count()).select_from(head)).scalar_one() <= SMALL_EXPERIMENT_RUNS:
        stmt = select(table.c.key).distinct().join(R, R.c.run_uuid == table.c.run_uuid).where(*wanted_run)
        if contains:
            stmt = stmt.where(func.lower(table.c.key).like(f"%{_escape_like(contains.lower())}%", escape="\\"))
        return [r[0] for r in conn.execute(stmt.order_by(table.c.key).limit(limit))]
    walk = select(func.min(table.c.key).label("key")).cte("walk", recursive=True)
    after = table.alias("after")
    walk = walk.union_all(
        select(select(func.min(after.c.key)).where(after.c.key > walk.c.key).scalar_subquery())
        .where(walk.c.key.is_not(None))
    )
    row = table.alias("used")
    # Nested EXISTS, each with OFFSET 0 so PostgreSQL keeps them as per-row subplans: the
    # key's rows are walked on the key index and each probes its run by primary key. As a
    # join, the planner started from the experiment's runs instead and read every one
    # (9 s at 1,000,000 runs).
    run_wanted = select(literal(1)).where(R.c.run_uuid == row.c.run_uuid, *wanted_run).offset(0).exists()
    used = select(literal(1)).where(row.c.key == walk.c.key, run_wanted).offset(0).exists()
    stmt = select(walk.c.key).where(walk.c.key.is_not(None), used)
    if contains:
        pattern = f"%{_escape_like(contains.lower())}%"
        stmt = stmt.where(func.lower(walk.c.key).like(pattern, escape="\\"))
    # The walk yields keys in ascending order already; an ORDER BY would make the database
    # finish the whole walk before the LIMIT could stop it.
    return sorted(r[0] for r in conn.execute(stmt.limit(limit)))
