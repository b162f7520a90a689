"""Min/max per bucket on the step axis from the per-block rollups (``metric_blocks``): a chart of
a 1,000,000-point series reads ~8,000 block rows instead of every point.

Buckets are made of whole blocks: with ``nb`` blocks between the range's first and last point
and ``buckets`` buckets, block ``j`` falls in bucket ``(j - first) * buckets // nb``, so every
bucket holds one or two more blocks than its neighbours at most and the chart keeps its
resolution. Each bucket's lowest and highest point are exact (spikes are never lost): a block
the range's start or end cuts is summarised from its points, and only those.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal, select

from lockgate.store.sql.metric_blocks import (
    BLOCK_SHIFT,
    BlockSummary,
    blocks_from_points,
    points_in_block,
    stored_blocks,
)
from lockgate.store.sql.tables import MetricTable

__all__ = ["sample_by_blocks"]

M = MetricTable
Point = tuple[int, int, float]  # step, timestamp, value
Extreme = tuple[float, int, int]  # value, step, timestamp: compared in that order


def sample_by_blocks(
    conn: Any, run_id: str, key: str, *, start: int | None, end: int | None, max_points: int
) -> tuple[int, list[Point]] | None:
    """(points in range, each bucket's lowest and highest point in step order), or None when
    the range spans fewer blocks than buckets or holds at most ``max_points`` points: the raw
    path answers those (few points to read, or the whole series to return)."""
    where = [M.c.run_uuid == run_id, M.c.key == key]
    if start is not None:
        where.append(M.c.step >= start)
    if end is not None:
        where.append(M.c.step <= end)
    # Each is one seek at an end of the (run, key, step) index. Spelled ORDER BY ... LIMIT 1, not
    # min()/max(): PostgreSQL with stale statistics scanned the whole range for a min().
    lo = conn.execute(select(M.c.step).where(*where).order_by(M.c.step).limit(1)).scalar()
    if lo is None:
        return None
    hi = int(conn.execute(select(M.c.step).where(*where).order_by(M.c.step.desc()).limit(1)).scalar_one())
    lo = int(lo)
    buckets = max(1, max_points // 2)
    first, last = lo >> BLOCK_SHIFT, hi >> BLOCK_SHIFT
    nb = last - first + 1
    if nb < buckets:
        return None
    head = select(literal(1)).where(*where).limit(max_points + 1).subquery()
    if conn.execute(select(func.count()).select_from(head)).scalar_one() <= max_points:
        return None
    blocks = stored_blocks(conn, run_id, key, first, last)
    if not _plausible(conn, run_id, key, blocks, first, last, lo, hi):
        # Points written without their blocks (say by an older Lockgate still running against
        # the upgraded database): summarise the range from the points, as slow as before.
        blocks = blocks_from_points(conn, run_id, key, lo, hi)
    elif first == last:
        if blocks[first].min_step < lo or blocks[first].max_step > hi:
            blocks = blocks_from_points(conn, run_id, key, lo, hi)
    else:
        if blocks[first].min_step < lo:  # the range's start cuts the first block
            blocks.update(blocks_from_points(conn, run_id, key, lo, ((first + 1) << BLOCK_SHIFT) - 1))
        if blocks[last].max_step > hi:  # and its end the last one
            blocks.update(blocks_from_points(conn, run_id, key, last << BLOCK_SHIFT, hi))
    return _buckets(blocks, first, nb, buckets)


def _plausible(conn: Any, run_id: str, key: str, blocks: dict[int, BlockSummary], first: int, last: int,
               lo: int, hi: int) -> bool:
    """A cheap check that the blocks match the points: the end blocks exist, reach the range's
    ends and count the points they hold (two range counts of at most 128 steps). Points are
    mostly appended, so stale blocks show at the end first; this is a guard, not a proof."""
    a, b = blocks.get(first), blocks.get(last)
    if a is None or b is None or a.min_step > lo or b.max_step < hi:
        return False
    return all(points_in_block(conn, run_id, key, j) == blocks[j].points for j in {first, last})


def _buckets(blocks: dict[int, BlockSummary], first: int, nb: int, buckets: int) -> tuple[int, list[Point]]:
    total = 0
    low: dict[int, Extreme] = {}
    high: dict[int, Extreme] = {}
    for j, b in blocks.items():
        total += b.points
        if b.low_value is None:
            continue  # only NaN in this block: it counts, but holds no extreme
        k = (j - first) * buckets // nb
        lv: Extreme = (b.low_value, b.low_step, b.low_timestamp)  # type: ignore[assignment]
        cur = low.get(k)
        if cur is None or lv < cur:
            low[k] = lv
        hv: Extreme = (b.high_value, b.high_step, b.high_timestamp)  # type: ignore[assignment]
        cur = high.get(k)
        if cur is None or hv[0] > cur[0] or (hv[0] == cur[0] and hv[1:] < cur[1:]):
            high[k] = hv
    chosen = {(s, t, v) for v, s, t in (*low.values(), *high.values())}
    return total, sorted(chosen)
