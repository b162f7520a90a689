"""A metric's history as ``mlflow server`` returns it, for the MLflow surface.

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

from lockgate.entities import Metric, PagedList
from lockgate.store.paging import decode_page_token, encode_page_token
from lockgate.store.sql.engine import read_connection
from lockgate.store.sql.run_rows import M, run_row
from lockgate.store.validation import validate_key, validate_max_results

__all__ = ["mlflow_metric_history"]

_MAX = sys.float_info.max


def mlflow_metric_history(
    store: Any, run_id: str, key: str, *, max_results: int | None = None, page_token: str | None = None
) -> PagedList[Metric]:
    """The points of ``key`` in run ``run_id`` as MLflow lists them: distinct, infinities at
    the float limits, by timestamp, then step, then value (NaN counted as 0, as MLflow stores it)."""
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
    points = [Metric(key=key, value=math.nan if is_nan else v, timestamp=ts, step=step) for v, is_nan, ts, step in rows]
    if max_results is not None and len(points) > max_results:
        return PagedList(points[:max_results], encode_page_token(offset + max_results))
    return PagedList(points, None)
