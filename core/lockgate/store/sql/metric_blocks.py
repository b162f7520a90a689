"""Per-block min/max of every metric series (``metric_blocks``), kept in the transaction that
writes the points, so a chart of a 1,000,000-point series reads ~8,000 block rows, not every point.

A block is 128 consecutive steps of one run's key (``block = step >> 7``, floor division, so
negative steps work too). Its row holds the point count, the lowest and highest step, and the
lowest and highest non-NaN point (value, step, timestamp), ties going to the earliest (step,
timestamp): the same rule the chart sampler applies to raw points, so both answer alike.

Why 128 steps: a chart asks for ``max_points // 2`` buckets (500 by default) and a bucket is
built from whole blocks, so blocks are used once the x range spans 500 blocks (64,000 steps);
below that the sampler reads the points, at most ~64,000 of them (about 0.1 s on SQLite). A
1,000,000-step series is then 7,813 blocks. 1,024-step blocks would read 8x fewer rows for the
full view but leave zoomed views of up to 512,000 points to the raw path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import text

from lockgate.store.sql.batch_writes import pg_array_literals
from lockgate.store.sql.tables import MetricBlockTable

__all__ = [
    "BLOCK_SHIFT",
    "MB",
    "BlockSummary",
    "blocks_from_points",
    "points_in_block",
    "rebuild_blocks",
    "stored_blocks",
    "upsert_blocks",
]

BLOCK_SHIFT = 7
MB = MetricBlockTable


class BlockSummary(NamedTuple):
    block: int
    points: int
    min_step: int
    max_step: int
    low_value: float | None
    low_step: int | None
    low_timestamp: int | None
    high_value: float | None
    high_step: int | None
    high_timestamp: int | None


_COLUMNS = ("run_uuid", "key", "block", "points", "min_step", "max_step", "low_value", "low_step",
            "low_timestamp", "high_value", "high_step", "high_timestamp")
_NEW_LOW = ("excluded.low_value IS NOT NULL AND (metric_blocks.low_value IS NULL OR "
            "(excluded.low_value, excluded.low_step, excluded.low_timestamp) < "
            "(metric_blocks.low_value, metric_blocks.low_step, metric_blocks.low_timestamp))")
_NEW_HIGH = ("excluded.high_value IS NOT NULL AND (metric_blocks.high_value IS NULL OR "
             "excluded.high_value > metric_blocks.high_value OR (excluded.high_value = metric_blocks.high_value AND "
             "(excluded.high_step, excluded.high_timestamp) < (metric_blocks.high_step, metric_blocks.high_timestamp)))")


def _upsert_sql(mark: str, *, pg_arrays: bool = False) -> str:
    sets = ["points = metric_blocks.points + excluded.points",
            ("min_step = CASE WHEN excluded.min_step < metric_blocks.min_step THEN excluded.min_step "
             "ELSE metric_blocks.min_step END"),
            ("max_step = CASE WHEN excluded.max_step > metric_blocks.max_step THEN excluded.max_step "
             "ELSE metric_blocks.max_step END")]
    for side, cond in (("low", _NEW_LOW), ("high", _NEW_HIGH)):
        sets += [f"{side}_{c} = CASE WHEN {cond} THEN excluded.{side}_{c} ELSE metric_blocks.{side}_{c} END"
                 for c in ("value", "step", "timestamp")]
    rows = f"VALUES ({', '.join([mark] * len(_COLUMNS))})"
    if pg_arrays:
        types = ("text", "text") + ("int8",) * 4 + ("float8", "int8", "int8") * 2
        rows = f"SELECT * FROM unnest({', '.join(f'%s::{t}[]' for t in types)})"
    return (f"INSERT INTO metric_blocks ({', '.join(_COLUMNS)}) {rows} "
            f"ON CONFLICT (run_uuid, key, block) DO UPDATE SET {', '.join(sets)}")


_UPSERT = {"qmark": _upsert_sql("?"), "format": _upsert_sql("%s"), "pyformat": _upsert_sql("%s")}
# psycopg: every block of a batch in one statement over column arrays (one Bind/Execute, not one
# per block); the blocks are distinct, as ON CONFLICT DO UPDATE needs within one statement.
_PG_UPSERT_ARRAYS = _upsert_sql("%s", pg_arrays=True)
_SELECT = {style: f"SELECT {', '.join(_COLUMNS[2:])} FROM metric_blocks WHERE run_uuid = {m} AND key = {m} "
                  f"AND block >= {m} AND block <= {m}" for style, m in (("qmark", "?"), ("format", "%s"), ("pyformat", "%s"))}


def upsert_blocks(conn: Any, rows: Iterable[Sequence[Any]]) -> None:
    """Fold metric rows ``(run_uuid, key, value, is_nan, timestamp, step)`` just inserted on
    ``conn`` into their blocks: grouped here, then one executemany upsert."""
    blocks: dict[tuple[str, str, int], list[Any]] = {}
    for run_id, key, value, is_nan, ts, step in rows:
        block = step >> BLOCK_SHIFT
        b = blocks.get((run_id, key, block))
        if b is None:
            b = blocks[(run_id, key, block)] = [run_id, key, block, 0, step, step, None, None, None, None, None, None]
        b[3] += 1
        if step < b[4]:
            b[4] = step
        elif step > b[5]:
            b[5] = step
        if is_nan:
            continue
        if b[6] is None or (value, step, ts) < (b[6], b[7], b[8]):
            b[6], b[7], b[8] = value, step, ts
        if b[9] is None or value > b[9] or (value == b[9] and (step, ts) < (b[10], b[11])):
            b[9], b[10], b[11] = value, step, ts
    if blocks:
        # In primary-key order: two transactions upserting the same blocks lock them in the same
        # order on PostgreSQL, so they queue instead of deadlocking (an INSERT ... SELECT takes
        # its rows in the arrays' order).
        ordered = [blocks[k] for k in sorted(blocks)]
        if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
            conn.exec_driver_sql(_PG_UPSERT_ARRAYS, pg_array_literals(ordered, "ttiiiifiifii"))
        else:
            conn.exec_driver_sql(_UPSERT[conn.dialect.paramstyle], [tuple(b) for b in ordered])


# The summary of blocks computed from the points themselves: the migration's backfill, the
# sampler's partial blocks at a range's edges, and its fallback when blocks look stale.
_FROM_POINTS = (
    "SELECT {group} block, count(*), min(step), max(step), "
    "max(CASE WHEN lo_rank = 1 AND NOT is_nan THEN value END), "
    "max(CASE WHEN lo_rank = 1 AND NOT is_nan THEN step END), "
    "max(CASE WHEN lo_rank = 1 AND NOT is_nan THEN timestamp END), "
    "max(CASE WHEN hi_rank = 1 AND NOT is_nan THEN value END), "
    "max(CASE WHEN hi_rank = 1 AND NOT is_nan THEN step END), "
    "max(CASE WHEN hi_rank = 1 AND NOT is_nan THEN timestamp END) "
    "FROM (SELECT run_uuid, key, step >> {shift} AS block, step, timestamp, value, is_nan, "
    "row_number() OVER (PARTITION BY run_uuid, key, step >> {shift}, is_nan ORDER BY value, step, timestamp) AS lo_rank, "
    "row_number() OVER (PARTITION BY run_uuid, key, step >> {shift}, is_nan "
    "ORDER BY value DESC, step, timestamp) AS hi_rank "
    "FROM metrics WHERE {where}) AS p GROUP BY run_uuid, key, block"
)


def blocks_from_points(conn: Any, run_id: str, key: str, first_step: int, last_step: int) -> dict[int, BlockSummary]:
    """Block summaries of the points of one series with steps in ``[first_step, last_step]``."""
    sql = _FROM_POINTS.format(group="", shift=BLOCK_SHIFT,
                              where="run_uuid = :run AND key = :key AND step >= :a AND step <= :b")
    rows = conn.execute(text(sql), {"run": run_id, "key": key, "a": first_step, "b": last_step})
    return {int(r[0]): _summary(r) for r in rows}


def stored_blocks(conn: Any, run_id: str, key: str, first: int, last: int) -> dict[int, BlockSummary]:
    """The stored blocks ``first..last`` of one series."""
    # Raw DB-API rows, already of the right types: a chart reads thousands of them.
    rows = conn.exec_driver_sql(_SELECT[conn.dialect.paramstyle], (run_id, key, first, last))
    return {row[0]: BlockSummary._make(row) for row in rows}


def points_in_block(conn: Any, run_id: str, key: str, block: int) -> int:
    """How many points the series has in ``block`` (a range count on the (run, key, step) index)."""
    return int(conn.execute(
        text("SELECT count(*) FROM metrics WHERE run_uuid = :run AND key = :key AND step >= :a AND step <= :b"),
        {"run": run_id, "key": key, "a": block << BLOCK_SHIFT, "b": ((block + 1) << BLOCK_SHIFT) - 1},
    ).scalar_one())


def rebuild_blocks(conn: Any, run_ids: Sequence[str]) -> None:
    """Recompute the blocks of these runs from their points (for data written around the store,
    as bench/scale_bench.py's set-based fill does)."""
    for run_id in run_ids:
        conn.execute(MB.delete().where(MB.c.run_uuid == run_id))
        sql = _FROM_POINTS.format(group="run_uuid, key,", shift=BLOCK_SHIFT, where="run_uuid = :run")
        conn.execute(text(f"INSERT INTO metric_blocks ({', '.join(_COLUMNS)}) {sql}"), {"run": run_id})


def _summary(r: Sequence[Any]) -> BlockSummary:
    def num(v: Any, kind: type) -> Any:
        return None if v is None else kind(v)

    return BlockSummary(int(r[0]), int(r[1]), int(r[2]), int(r[3]), num(r[4], float), num(r[5], int),
                        num(r[6], int), num(r[7], float), num(r[8], int), num(r[9], int))
