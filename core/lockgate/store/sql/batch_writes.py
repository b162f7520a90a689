"""The raw writes of a log-batch: metric rows at driver speed and params checked after a
pipelined round trip (see ``engine.pipelined``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Connection

from lockgate.entities import Param
from lockgate.errors import InvalidArgument
from lockgate.store.sql.engine import query_later

__all__ = ["insert_metric_rows", "queue_params", "refuse_changed_params"]

# 6 variables a row: 3,000 per statement, under SQLite's limit of 32,766 (999 before 3.32).
_SQLITE_ROWS_PER_INSERT = 500 if sqlite3.sqlite_version_info >= (3, 32) else 166
_SQLITE_ROW_MARKS = ", (?, ?, ?, ?, ?, ?)"
_sqlite_chunk_sql: dict[tuple[str, int], str] = {}

# The same lookup as the store's ``_param_select``, for psycopg's pipeline.
_PG_PARAM_VALUES = "SELECT key, value FROM params WHERE run_uuid = %s AND key = ANY(%s)"


def insert_metric_rows(conn: Connection, rows: Sequence[tuple[Any, ...]], *, single_row_sql: str) -> None:
    """Insert ``(run_uuid, key, value, is_nan, timestamp, step)`` rows with raw DB-API calls
    (``single_row_sql`` inserts one row): SQLAlchemy's per-row parameter processing would cost
    more than the insert itself."""
    if conn.dialect.name != "sqlite":
        # psycopg pipelines executemany; PostgreSQL's own per-row work dominates (measured: one
        # INSERT ... SELECT FROM unnest() of 1,000 rows took as long).
        conn.exec_driver_sql(single_row_sql, list(rows))
        return
    # SQLite: one multi-row INSERT per chunk is ~10x faster than sqlite3's executemany, which
    # resets and re-binds the statement row by row (1,000 points: 1.1 vs 12 ms at load 10).
    for start in range(0, len(rows), _SQLITE_ROWS_PER_INSERT):
        chunk = rows[start : start + _SQLITE_ROWS_PER_INSERT]
        sql = _sqlite_chunk_sql.get((single_row_sql, len(chunk)))
        if sql is None:
            sql = single_row_sql + _SQLITE_ROW_MARKS * (len(chunk) - 1)
            _sqlite_chunk_sql[(single_row_sql, len(chunk))] = sql
        conn.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))


def queue_params(conn: Connection, run_id: str, params: Sequence[Param], *, insert: Any, select: Any) -> Callable[[], None]:
    """Insert the params of ``run_id`` that are new (``insert``: on conflict do nothing) and
    read back the stored values (``select``); the returned check refuses a changed value.
    Inside a ``pipelined`` block, call the check after the block ends."""
    wanted: dict[str, str] = {}
    for p in params:
        if p.key in wanted and wanted[p.key] != p.value:
            raise InvalidArgument(
                f"Param {p.key!r} appears twice in one batch with different values "
                f"({wanted[p.key]!r} and {p.value!r})."
            )
        wanted[p.key] = p.value
    # In key order, so concurrent batches on one run take the key locks in the same order.
    conn.execute(insert, [{"run_uuid": run_id, "key": k, "value": wanted[k]} for k in sorted(wanted)])
    keys = list(wanted)
    stored_rows = query_later(conn, select, {"run_id": run_id, "keys": keys},
                              pg_sql=_PG_PARAM_VALUES, pg_params=(run_id, keys))

    def check() -> None:
        refuse_changed_params(run_id, wanted, dict(stored_rows.fetchall()))

    return check


def refuse_changed_params(run_id: str, wanted: dict[str, str], stored: dict[str, str]) -> None:
    """Refuse a param whose stored value differs from the one logged now."""
    for key, value in wanted.items():
        if stored.get(key) != value:
            raise InvalidArgument(
                f"Param {key!r} of run {run_id!r} is already {stored.get(key)!r}; params cannot be "
                f"changed (tried {value!r}). Log a new param or start a new run."
            )
