"""Read-only aggregates the web UI (and any API user) needs beyond the store protocol:
distinct param/metric/tag keys of experiments, run counts with last activity, and metric
histories downsampled on the database so a million-point series costs a few kB.

Downsampling is min/max per bucket: the x range is cut into ``max_points // 2`` equal
buckets and each bucket contributes its lowest and its highest point, so a spike is never
averaged away whatever the zoom. Series with at most ``max_points`` points come back whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, literal, select

from lockgate.entities import ViewType
from lockgate.errors import InvalidArgument, NotFound
from lockgate.store.sql.engine import read_connection
from lockgate.store.sql.tables import (
    LatestMetricTable,
    MetricTable,
    ParamTable,
    RunTable,
    RunTagTable,
    core_table,
)
from lockgate.store.validation import validate_run_id

__all__ = [
    "MAX_SAMPLED_POINTS",
    "ExperimentStats",
    "RunKeys",
    "SampledSeries",
    "SeriesPoint",
    "experiment_stats",
    "list_run_keys",
    "sample_metric_histories",
]

R = core_table(RunTable)
P = core_table(ParamTable)
M = core_table(MetricTable)
LM = core_table(LatestMetricTable)
T = core_table(RunTagTable)

MAX_SAMPLED_POINTS = 10_000
XAxis = Literal["step", "timestamp"]


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


@dataclass(frozen=True)
class SeriesPoint:
    step: int
    timestamp: int
    value: float


@dataclass(frozen=True)
class SampledSeries:
    """One run's metric in the requested x range: ``total`` points there, ``points`` drawn."""

    run_id: str
    key: str
    total: int
    sampled: bool
    points: list[SeriesPoint] = field(default_factory=list)


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


def _nan_aware(value: float, is_nan: bool) -> float:
    return float("nan") if is_nan else float(value)


def _sample_one(
    conn: Any, run_id: str, key: str, *, x: XAxis, start: int | None, end: int | None, max_points: int
) -> SampledSeries:
    xcol = M.c.step if x == "step" else M.c.timestamp
    where = [M.c.run_uuid == run_id, M.c.key == key]
    if start is not None:
        where.append(xcol >= start)
    if end is not None:
        where.append(xcol <= end)
    # Whether the series fits stops counting at max_points + 1 rows, not at a million.
    head = select(literal(1)).where(*where).limit(max_points + 1).subquery()
    if conn.execute(select(func.count()).select_from(head)).scalar_one() <= max_points:
        rows = conn.execute(
            select(M.c.step, M.c.timestamp, M.c.value, M.c.is_nan).where(*where)
            .order_by(xcol, M.c.step, M.c.timestamp, M.c.id)
        ).all()
        whole = [SeriesPoint(int(s), int(t), _nan_aware(v, n)) for s, t, v, n in rows]
        return SampledSeries(run_id, key, len(whole), False, whole)
    # On the step axis the (run, key, step) index answers these two from its ends.
    lo, hi = conn.execute(select(func.min(xcol), func.max(xcol)).where(*where)).one()
    buckets = max(1, max_points // 2)
    span = int(hi) - int(lo) + 1
    # Floor division stays integer on SQLite and PostgreSQL: bucket = (x - lo) * buckets // span.
    bucket = ((xcol - literal(int(lo))) * literal(buckets) // literal(span)).label("b")
    total, chosen = (_extremes_pg if conn.dialect.name == "postgresql" else _extremes_any)(conn, where, bucket)
    # Each bucket's lowest and highest point, in x order, so the line keeps every spike.
    order = "step" if x == "step" else "timestamp"
    points = sorted(chosen.values(), key=lambda p: (getattr(p, order), p.step, p.timestamp))
    return SampledSeries(run_id, key, total, True, points)


def _extremes_pg(conn: Any, where: list[Any], bucket: Any) -> tuple[int, dict[int, SeriesPoint]]:
    """One pass over the series: per bucket the row count and the ids of its lowest and highest
    finite values (ties to the earliest id), then the chosen rows by primary key."""
    from sqlalchemy import Float, case, cast
    from sqlalchemy.dialects.postgresql import ARRAY, array

    finite = M.c.is_nan.is_(False)
    low = func.min(case((finite, array([M.c.value, cast(M.c.id, Float)])), else_=None).cast(ARRAY(Float)))
    high = func.max(case((finite, array([M.c.value, -cast(M.c.id, Float)])), else_=None).cast(ARRAY(Float)))
    stmt = select(bucket, func.count(), low, high).where(*where).group_by(bucket)
    total, ids = 0, set()
    for _b, count, lo_pair, hi_pair in conn.execute(stmt):
        total += int(count)
        if lo_pair is not None:
            ids.add(int(lo_pair[1]))
            ids.add(-int(hi_pair[1]))
    rows = conn.execute(select(M.c.id, M.c.step, M.c.timestamp, M.c.value).where(M.c.id.in_(sorted(ids)))) if ids else []
    return total, {int(i): SeriesPoint(int(s), int(t), float(v)) for i, s, t, v in rows}


def _extremes_any(conn: Any, where: list[Any], bucket: Any) -> tuple[int, dict[int, SeriesPoint]]:
    """Two passes, one per extreme: SQLite fills the bare columns of a MIN()/MAX() aggregate from
    the row that holds it (the first such row, in index order, on a tie)."""
    from sqlalchemy import case

    finite_value = case((M.c.is_nan.is_(False), M.c.value), else_=None)
    chosen: dict[int, SeriesPoint] = {}
    total = 0
    for first, agg in ((True, func.min), (False, func.max)):
        stmt = select(bucket, func.count(), agg(finite_value), M.c.id, M.c.step, M.c.timestamp).where(*where).group_by(bucket)
        for _b, count, value, row_id, step, ts in conn.execute(stmt):
            if first:
                total += int(count)
            if value is not None:
                chosen[int(row_id)] = SeriesPoint(int(step), int(ts), float(value))
    return total, chosen


def sample_metric_histories(
    store: Any,
    run_ids: Sequence[str],
    keys: Sequence[str],
    *,
    x: XAxis = "step",
    start: int | None = None,
    end: int | None = None,
    max_points: int = 1000,
) -> list[SampledSeries]:
    """Each (run, key) history in ``[start, end]`` on the ``x`` axis, at most ``max_points``
    points per series: whole when it fits, else min and max of every bucket."""
    if x not in ("step", "timestamp"):
        raise InvalidArgument(f"x must be 'step' or 'timestamp', not {x!r}.")
    if not 2 <= max_points <= MAX_SAMPLED_POINTS:
        raise InvalidArgument(f"max_points must be between 2 and {MAX_SAMPLED_POINTS}, not {max_points}.")
    if start is not None and end is not None and start > end:
        raise InvalidArgument(f"start ({start}) is after end ({end}).")
    for run_id in run_ids:
        validate_run_id(run_id)
    series = []
    with read_connection(store.engine) as conn:
        known = {row[0] for row in conn.execute(select(R.c.run_uuid).where(R.c.run_uuid.in_(list(run_ids))))}
        missing = [r for r in run_ids if r not in known]
        if missing:
            raise NotFound(f"No run with id {missing[0]!r}.")
        for run_id in run_ids:
            for key in keys:
                series.append(_sample_one(conn, run_id, key, x=x, start=start, end=end, max_points=max_points))
    return series
