"""A metric's history read straight into ``(value, timestamp, step)`` tuples: Lockgate's order
(``history_points``, behind ``get_metric_history``) and MLflow's (``mlflow_history_points``,
behind the MLflow surface). No entity per point: the server writes a 20,000-point history to
the wire from the tuples directly.

MLflow's view of a history:

MLflow's SQL store keeps one row per distinct point (its primary key is key, timestamp, step,
value and NaN flag, so logging the same point twice keeps one), stores +/-infinity as the
float limits, and answers ordered by timestamp, step and value. Lockgate keeps every point
logged, and infinity itself, in the order of steps; this query shows the same rows the way
MLflow would, so the stock client's ``get_metric_history`` pages through identical lists.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from sqlalchemy import Float, case, literal, select

from lockgate.store.paging import decode_page_token, encode_page_token
from lockgate.store.sql.engine import read_connection
from lockgate.store.sql.run_rows import M, gc_paused, run_row
from lockgate.store.validation import validate_key, validate_max_results

__all__ = ["history_points", "mlflow_history_points"]

_MAX = sys.float_info.max


_HISTORY_SQL = (
    "SELECT value, is_nan, timestamp, step FROM metrics WHERE run_uuid = {mark} AND key = {mark} "
    "ORDER BY step, timestamp, id"
)


def history_points(
    store: Any, run_id: str, key: str, *, max_results: int | None = None, page_token: str | None = None
) -> tuple[list[tuple[float, int, int]], str | None]:
    """One page of a metric's history in step order (every point logged, infinity kept) and the
    next page's token."""
    validate_key("metric", key)
    offset = decode_page_token(page_token)
    mark = "?" if store.engine.dialect.paramstyle == "qmark" else "%s"
    sql = _HISTORY_SQL.format(mark=mark)
    params: tuple[Any, ...] = (run_id, key)
    if max_results is not None:
        validate_max_results(max_results, limit=10**9)
        sql += f" LIMIT {mark} OFFSET {mark}"
        params += (max_results + 1, offset)
    with read_connection(store.engine) as conn:
        run_row(conn, run_id)
        # A raw DB-API cursor: SQLAlchemy's Row per point cost about as much as the query
        # (20,000 points, SQLite, load 10: the Core select's rows took 3x the fetch itself).
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        finally:
            cursor.close()
    return _page(rows, offset, max_results)


def _page(rows: Any, offset: int, max_results: int | None) -> tuple[list[tuple[float, int, int]], str | None]:
    nan = math.nan
    with gc_paused():
        points = [(nan if is_nan else value, ts, step) for value, is_nan, ts, step in rows]
    if max_results is not None and len(points) > max_results:
        return points[:max_results], encode_page_token(offset + max_results)
    return points, None


def mlflow_history_points(
    store: Any, run_id: str, key: str, *, max_results: int | None = None, page_token: str | None = None
) -> tuple[list[tuple[float, int, int]], str | None]:
    """One page of the points of ``key`` in run ``run_id`` as MLflow lists them, as ``(value,
    timestamp, step)`` tuples, and the next page's token: distinct, infinities at the float
    limits, by timestamp, then step, then value (NaN counted as 0, as MLflow stores it)."""
    validate_key("metric", key)
    offset = decode_page_token(page_token)
    if max_results is not None:
        validate_max_results(max_results, limit=10**9)
    top, bottom = literal(_MAX, Float()), literal(-_MAX, Float())
    value = case((M.c.value > top, top), (M.c.value < bottom, bottom), else_=M.c.value).label("mlflow_value")
    stmt = (
        select(value, M.c.is_nan, M.c.timestamp, M.c.step)
        .where(M.c.run_uuid == run_id, M.c.key == key)
        .distinct()
        .order_by(M.c.timestamp, M.c.step, value, M.c.is_nan)
        .offset(offset)
    )
    if max_results is not None:
        stmt = stmt.limit(max_results + 1)
    with read_connection(store.engine) as conn:
        run_row(conn, run_id)
        rows = conn.execute(stmt).all()
    return _page(rows, offset, max_results)
