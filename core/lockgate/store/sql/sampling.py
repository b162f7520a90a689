"""Metric histories of many runs, sampled on the database so a million-point series costs a
few kB. Two strategies, one per caller:

- **min/max per bucket** (``sample_metric_histories``, Lockgate's ``/api/v1/metrics/sampled``
  behind the UI's charts): the x range is cut into ``max_points // 2`` equal buckets and each
  contributes its lowest and its highest point, so a spike is never averaged away whatever the
  zoom. Series with at most ``max_points`` points come back whole. On the step axis, a range of
  at least one 128-step block per bucket is answered from the per-block rollups
  (``block_sampling.py``: buckets of whole blocks, ~8,000 rows for 1,000,000 points); narrower
  ranges and the timestamp axis read the points (equal-width buckets).
- **evenly spaced rows** (``evenly_sampled_histories``, MLflow's
  ``metrics/get-history-bulk-interval``): MLflow's exact answer, so charts drawn by MLflow's UI or
  client code show the same points against Lockgate as against ``mlflow server``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import bindparam, func, literal, select

from lockgate.errors import InvalidArgument, NotFound
from lockgate.store.sql.block_sampling import sample_by_blocks
from lockgate.store.sql.engine import read_connection
from lockgate.store.sql.tables import MetricTable, RunTable
from lockgate.store.validation import validate_run_id

__all__ = [
    "MAX_SAMPLED_POINTS",
    "SampledSeries",
    "SeriesPoint",
    "even_positions",
    "evenly_sampled_histories",
    "sample_metric_histories",
]

R = RunTable
M = MetricTable

MAX_SAMPLED_POINTS = 10_000
XAxis = Literal["step", "timestamp"]


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


def _nan_aware(value: float, is_nan: bool) -> float:
    return float("nan") if is_nan else float(value)


def _min_max_one(
    conn: Any, run_id: str, key: str, *, x: XAxis, start: int | None, end: int | None, max_points: int
) -> SampledSeries:
    if x == "step":
        by_blocks = sample_by_blocks(conn, run_id, key, start=start, end=end, max_points=max_points)
        if by_blocks is not None:
            total, picked = by_blocks
            return SampledSeries(run_id, key, total, True, [SeriesPoint(s, t, v) for s, t, v in picked])
    xcol = M.c.step if x == "step" else M.c.timestamp
    where = [M.c.run_uuid == run_id, M.c.key == key]
    if start is not None:
        where.append(xcol >= start)
    if end is not None:
        where.append(xcol <= end)
    if x == "step" and conn.dialect.name == "sqlite":
        return _sample_by_step_on_sqlite(conn, run_id, key, where, max_points=max_points)
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
                series.append(_min_max_one(conn, run_id, key, x=x, start=start, end=end, max_points=max_points))
    return series


# ------------------------------------------------------------------ evenly spaced (MLflow's)
def even_positions(total: int, max_results: int) -> list[int]:
    """Which 0-based positions of ``total`` ordered rows MLflow's bulk-interval sampling keeps.

    The rows are dealt into ``max_results`` consecutive groups as evenly as possible (the first
    ``total % max_results`` groups one row larger) and the first row of each group is kept; the
    last row always replaces the last pick, so the first and last points are both in. With
    ``max_results`` 1 that is the last row alone.
    """
    if total <= max_results:
        return list(range(total))
    size, larger = divmod(total, max_results)
    picks = [group * size + min(group, larger) for group in range(max_results)]
    picks[-1] = total - 1
    return picks


def _even_one(conn: Any, run_id: str, key: str, *, max_results: int, start: int | None,
              end: int | None) -> list[SeriesPoint]:
    where = [M.c.run_uuid == run_id, M.c.key == key]
    if start is not None and end is not None:
        where += [M.c.step >= start, M.c.step <= end]
    # MLflow keeps one row per (step, timestamp, value) and orders them so; NaN is stored as 0.
    rows = select(M.c.step, M.c.timestamp, M.c.value, M.c.is_nan).where(*where).distinct().subquery()
    total = int(conn.execute(select(func.count()).select_from(rows)).scalar_one())
    if total == 0:
        return []
    order = (rows.c.step, rows.c.timestamp, rows.c.value, rows.c.is_nan)
    ranked = select(rows, (func.row_number().over(order_by=order) - 1).label("pos")).subquery()
    picked = conn.execute(
        select(ranked.c.step, ranked.c.timestamp, ranked.c.value, ranked.c.is_nan)
        .where(ranked.c.pos.in_(bindparam("positions", expanding=True)))
        .order_by(ranked.c.pos),
        {"positions": even_positions(total, max_results)},
    )
    return [SeriesPoint(int(s), int(t), _nan_aware(v, n)) for s, t, v, n in picked]


def evenly_sampled_histories(
    store: Any, run_ids: Sequence[str], key: str, *, max_results: int, start_step: int | None = None,
    end_step: int | None = None,
) -> list[tuple[str, list[SeriesPoint]]]:
    """Per run, at most ``max_results`` evenly spaced points of ``key`` (first and last
    included), ordered by step, timestamp and value; steps limited to ``[start_step, end_step]``
    when both are given. A run without the metric, or unknown, contributes nothing (as in
    MLflow)."""
    if (start_step is None) != (end_step is None):
        raise InvalidArgument("If either start step or end step are specified, both must be specified.")
    if start_step is not None and end_step is not None and start_step > end_step:
        raise InvalidArgument("end_step must be greater than start_step. "
                              f"Found start_step={start_step} and end_step={end_step}.")
    if max_results < 1:
        raise InvalidArgument(f"max_results must be at least 1, not {max_results}.")
    with read_connection(store.engine) as conn:
        return [(run_id, _even_one(conn, run_id, key, max_results=max_results, start=start_step, end=end_step))
                for run_id in run_ids]
