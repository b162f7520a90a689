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
    stages = ViewType(view_type).stages()
    result: dict[str, list[str]] = {}
    truncated = False
    with read_connection(store.engine) as conn:
        for name, table in (("params", P), ("metrics", LM), ("tags", T)):
            keys = _distinct_keys(conn, table, ids, stages, contains=contains, limit=max_results + 1)
            truncated = truncated or len(keys) > max_results
            result[name] = keys[:max_results]
    return RunKeys(params=result["params"], metrics=result["metrics"], tags=result["tags"], truncated=truncated)


def _distinct_keys(conn: Any, table: Any, experiment_ids: list[int], stages: Sequence[str], *,
                   contains: str, limit: int) -> list[str]:
    """Up to ``limit`` keys of ``table`` (sorted) that some run of the experiments uses.

    The keys are walked on the key index one distinct value at a time (a loose index scan: a
    seek per key), and each is kept when one row of it belongs to a wanted run. Reading every
    row instead (SELECT DISTINCT over the experiment's runs) cost seconds at 100,000 runs with
    2,000,000 params; this costs a seek or two per distinct key.
    """
    walk = select(func.min(table.c.key).label("key")).cte("walk", recursive=True)
    after = table.alias("after")
    walk = walk.union_all(
        select(select(func.min(after.c.key)).where(after.c.key > walk.c.key).scalar_subquery())
        .where(walk.c.key.is_not(None))
    )
    row = table.alias("used")
    used = (
        select(literal(1))
        .select_from(row.join(R, R.c.run_uuid == row.c.run_uuid))
        # "+ 0" keeps the planner from starting at the runs of the experiment (100,000 of them)
        # instead of at the rows of this one key.
        .where(row.c.key == walk.c.key, (R.c.experiment_id + 0).in_(experiment_ids), R.c.lifecycle_stage.in_(stages))
        .exists()
    )
    stmt = select(walk.c.key).where(walk.c.key.is_not(None), used)
    if contains:
        pattern = f"%{_escape_like(contains.lower())}%"
        stmt = stmt.where(func.lower(walk.c.key).like(pattern, escape="\\"))
    # The walk yields keys in ascending order already; an ORDER BY would make the database
    # finish the whole walk before the LIMIT could stop it.
    return sorted(r[0] for r in conn.execute(stmt.limit(limit)))


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
    if x == "step" and conn.dialect.name == "sqlite":
        return _sample_by_step_on_sqlite(conn, run_id, key, where, max_points=max_points)
    total, lo, hi = conn.execute(select(func.count(), func.min(xcol), func.max(xcol)).where(*where)).one()
    total = int(total or 0)
    if total <= max_points:
        rows = conn.execute(
            select(M.c.step, M.c.timestamp, M.c.value, M.c.is_nan).where(*where)
            .order_by(xcol, M.c.step, M.c.timestamp, M.c.id)
        ).all()
        whole = [SeriesPoint(int(s), int(t), _nan_aware(v, n)) for s, t, v, n in rows]
        return SampledSeries(run_id, key, total, False, whole)
    buckets = max(1, max_points // 2)
    span = int(hi) - int(lo) + 1
    # Floor division stays integer on SQLite and PostgreSQL: bucket = (x - lo) * buckets // span.
    bucket = ((xcol - literal(int(lo))) * literal(buckets) // literal(span)).label("b")
    finite = [*where, M.c.is_nan.is_(False)]
    inner = select(bucket, M.c.step, M.c.timestamp, M.c.value, M.c.id).where(*finite).subquery()
    chosen: dict[tuple[int, int], SeriesPoint] = {}
    if conn.dialect.name == "sqlite":
        # SQLite fills the bare columns of a MIN()/MAX() aggregate from the row that holds it.
        for agg in (func.min, func.max):
            stmt = select(inner.c.b, inner.c.step, inner.c.timestamp, agg(inner.c.value), inner.c.id).group_by(inner.c.b)
            for b, step, ts, value, row_id in conn.execute(stmt):
                chosen[(int(b), int(row_id))] = SeriesPoint(int(step), int(ts), float(value))
    else:
        low = func.row_number().over(partition_by=inner.c.b, order_by=(inner.c.value.asc(), inner.c.id))
        high = func.row_number().over(partition_by=inner.c.b, order_by=(inner.c.value.desc(), inner.c.id))
        ranked = select(inner, low.label("lo"), high.label("hi")).subquery()
        stmt = select(ranked.c.b, ranked.c.step, ranked.c.timestamp, ranked.c.value, ranked.c.id).where(
            (ranked.c.lo == 1) | (ranked.c.hi == 1))
        for b, step, ts, value, row_id in conn.execute(stmt):
            chosen[(int(b), int(row_id))] = SeriesPoint(int(step), int(ts), float(value))
    # Each bucket's lowest and highest point, in x order, so the line keeps every spike.
    order = "step" if x == "step" else "timestamp"
    points = sorted(chosen.values(), key=lambda p: (getattr(p, order), p.step, p.timestamp))
    return SampledSeries(run_id, key, total, True, points)


_BUCKET_SQL = (
    "SELECT step, timestamp, {agg}(CASE WHEN is_nan THEN NULL ELSE value END), id, count(*) FROM metrics "
    "WHERE run_uuid = ? AND key = ? AND step >= ? AND step < ?"
)


def _sample_by_step_on_sqlite(conn: Any, run_id: str, key: str, where: list[Any], *, max_points: int) -> SampledSeries:
    """Min/max per step bucket with two range reads of the (run, key, step) index per bucket.

    One GROUP BY over the whole series made SQLite sort every point into a temporary B-tree
    (about 4x slower on a million points); range reads visit each point twice and sort nothing.
    """
    head = conn.execute(
        select(M.c.step, M.c.timestamp, M.c.value, M.c.is_nan).where(*where)
        .order_by(M.c.step, M.c.timestamp, M.c.id).limit(max_points + 1)
    ).all()
    if len(head) <= max_points:
        return SampledSeries(run_id, key, len(head), False, [SeriesPoint(int(s), int(t), _nan_aware(v, n)) for s, t, v, n in head])
    # Two single-aggregate queries: SQLite answers each with one index seek.
    lo = int(conn.execute(select(func.min(M.c.step)).where(*where)).scalar_one())
    hi = int(conn.execute(select(func.max(M.c.step)).where(*where)).scalar_one())
    buckets = max(1, max_points // 2)
    span = hi - lo + 1
    total = 0
    chosen: dict[int, SeriesPoint] = {}
    for k in range(buckets):
        a, b = lo + k * span // buckets, lo + (k + 1) * span // buckets
        if a == b:
            continue
        # SQLite fills the bare columns of a single MIN()/MAX() from the row that holds it.
        for agg in ("min", "max"):
            step, ts, value, row_id, count = conn.exec_driver_sql(_BUCKET_SQL.format(agg=agg), (run_id, key, a, b)).one()
            if agg == "min":
                total += int(count)
            if value is not None:
                chosen[int(row_id)] = SeriesPoint(int(step), int(ts), float(value))
    points = sorted(chosen.values(), key=lambda p: (p.step, p.timestamp))
    return SampledSeries(run_id, key, total, True, points)


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
