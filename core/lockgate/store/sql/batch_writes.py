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

__all__ = ["insert_metric_rows", "pg_array_literals", "queue_params", "refuse_changed_params", "upsert_latest_metrics"]

# 6 variables a row: 3,000 per statement, under SQLite's limit of 32,766 (999 before 3.32).
_SQLITE_ROWS_PER_INSERT = 500 if sqlite3.sqlite_version_info >= (3, 32) else 166
_SQLITE_ROW_MARKS = ", (?, ?, ?, ?, ?, ?)"
_sqlite_chunk_sql: dict[tuple[str, int], str] = {}

# The same lookup as the store's ``_param_select``, for psycopg's pipeline.
_PG_PARAM_VALUES = "SELECT key, value FROM params WHERE run_uuid = %s AND key = ANY(%s)"

# A batch's metric rows as one statement over one array per column: a single Bind/Execute for
# PostgreSQL instead of one per row (psycopg's pipelined executemany spent as much Python on the
# 1,000 messages as PostgreSQL spent inserting). Rows keep the arrays' order; the arrays travel
# as literals (``pg_array_literals``). COPY is as fast but cannot run in the pipeline that
# carries the rest of the batch.
_PG_INSERT_METRICS = (
    "INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step) "
    "SELECT * FROM unnest(%s::text[], %s::text[], %s::float8[], %s::bool[], %s::int8[], %s::int8[])"
)


def insert_metric_rows(conn: Connection, rows: Sequence[tuple[Any, ...]], *, single_row_sql: str) -> None:
    """Insert ``(run_uuid, key, value, is_nan, timestamp, step)`` rows with raw DB-API calls
    (``single_row_sql`` inserts one row): SQLAlchemy's per-row parameter processing would cost
    more than the insert itself."""
    if not rows:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        conn.exec_driver_sql(_PG_INSERT_METRICS, pg_array_literals(rows, "ttfbii"))
        return
    if conn.dialect.name != "sqlite":
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


# The store's latest-value upsert over arrays, with the same rule (highest step, then
# timestamp, then value; on a full tie the stored value stays).
_PG_UPSERT_LATEST = (
    "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) "
    "SELECT * FROM unnest(%s::text[], %s::text[], %s::float8[], %s::bool[], %s::int8[], %s::int8[]) "
    "ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan, "
    "timestamp = excluded.timestamp, step = excluded.step "
    "WHERE excluded.step > latest_metrics.step "
    "OR (excluded.step = latest_metrics.step AND excluded.timestamp > latest_metrics.timestamp) "
    "OR (excluded.step = latest_metrics.step AND excluded.timestamp = latest_metrics.timestamp "
    "AND excluded.value > latest_metrics.value)"
)
_METRIC_COLUMNS = ("run_uuid", "key", "value", "is_nan", "timestamp", "step")


def upsert_latest_metrics(conn: Connection, rows: Sequence[tuple[Any, ...]], *, statement: Any) -> None:
    """Fold each key's newest row of a batch ``(run_uuid, key, value, is_nan, timestamp, step)``,
    one row per key, into ``latest_metrics`` (``statement``: the store's upsert of one row)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        conn.exec_driver_sql(_PG_UPSERT_LATEST, pg_array_literals(rows, "ttfbii"))
        return
    conn.execute(statement, [dict(zip(_METRIC_COLUMNS, row)) for row in rows])


def pg_array_literals(rows: Sequence[Sequence[Any]], kinds: str) -> tuple[str, ...]:
    """The columns of ``rows`` as PostgreSQL array literals (``{...}``), for an ``unnest`` of
    ``%s::<type>[]`` parameters; ``kinds`` names each column's kind: ``t`` text, ``f`` float8,
    ``i`` int8, ``b`` bool. None is NULL.

    Text that PostgreSQL parses in C: psycopg's list dumpers (text or binary) convert element by
    element in Python, which cost more than the insert (6,000 elements a 1,000-point batch).
    Floats are written by ``float.__repr__``, the shortest text that reads back as the same
    double, so values are stored exactly."""
    return tuple(_LITERAL[kind](column) for kind, column in zip(kinds, zip(*rows)))


def _floats(column: Sequence[Any]) -> str:
    if all(type(v) is float for v in column):
        return "{" + ",".join(map(float.__repr__, column)) + "}"
    return "{" + ",".join("NULL" if v is None else float.__repr__(float(v)) for v in column) + "}"


def _ints(column: Sequence[Any]) -> str:
    if None in column:
        return "{" + ",".join("NULL" if v is None else str(int(v)) for v in column) + "}"
    return "{" + ",".join(map(int.__repr__, column)) + "}"


def _bools(column: Sequence[Any]) -> str:
    return "{" + ",".join("t" if v else "f" for v in column) + "}"


def _texts(column: Sequence[Any]) -> str:
    # Every element quoted, with backslash and double quote escaped: any text reads back as is.
    quoted = {v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in set(column)}
    return "{" + ",".join(map(quoted.__getitem__, column)) + "}"


_LITERAL = {"t": _texts, "f": _floats, "i": _ints, "b": _bools}


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
