"""Per-block min/max rollups (``metric_blocks``): kept exact by every write, and the chart sampler
built on them answers point for point like the same buckets computed from the raw points."""

from __future__ import annotations

import math
import random

from lockgate import LockgateClient
from lockgate.entities import Metric
from lockgate.store.sql.block_sampling import sample_by_blocks
from lockgate.store.sql.engine import read_connection, write_connection
from lockgate.store.sql.metric_blocks import MB, blocks_from_points, stored_blocks
from lockgate.store.sql.sampling import sample_metric_histories
from sqlalchemy import delete, select

T0 = 1_600_000_000_000
Pt = tuple[int, int, float]  # step, timestamp, value (NaN as float nan)


def _series(seed: int = 7) -> list[Pt]:
    """~6,000 points over steps -300..5,999: noise, spikes both ways, NaN runs, ±inf, a step
    logged several times with different values and times, and ties on the extreme value."""
    rng = random.Random(seed)
    points: list[Pt] = [(s, T0 + s, round(rng.uniform(-1, 1), 2)) for s in range(-300, 6000)]
    points[1000] = (700, T0 + 700, 50.0)  # spike up
    points[3100] = (2800, T0 + 2800, -50.0)  # spike down
    points[4000] = (3700, T0 + 3700, math.inf)
    points[4001] = (3701, T0 + 3701, -math.inf)
    for s in range(1280, 1408):  # block 10 holds only NaN
        points[s + 300] = (s, T0 + s, math.nan)
    points += [(2000, T0 + 1, 9.0), (2000, T0 + 5, 9.0), (2000, T0 + 3, -9.0), (2001, T0 + 2001, 9.0)]
    points += [(s, T0 + s, math.nan) for s in range(5000, 5010)]
    return points


def _log_shuffled(client: LockgateClient, run_id: str, key: str, points: list[Pt]) -> None:
    order = points[:]
    random.Random(3).shuffle(order)  # out-of-order logging, in batches of varied size
    at, size = 0, 1
    while at < len(order):
        chunk = order[at : at + size]
        client.log_batch(run_id, metrics=[Metric(key=key, value=v, timestamp=t, step=s) for s, t, v in chunk])
        at += size
        size = 1 + (size * 7) % 997


def _reference(points: list[Pt], *, start: int | None, end: int | None, max_points: int) -> tuple[int, list[Pt]]:
    """Min/max per bucket of whole 128-step blocks, from the points themselves."""
    inside = [p for p in points if (start is None or p[0] >= start) and (end is None or p[0] <= end)]
    lo, hi = min(p[0] for p in inside), max(p[0] for p in inside)
    buckets, first = max_points // 2, lo >> 7
    nb = (hi >> 7) - first + 1
    chosen: dict[int, list[Pt]] = {}
    for p in inside:
        if not math.isnan(p[2]):
            chosen.setdefault((p[0] // 128 - first) * buckets // nb, []).append(p)
    picked = set()
    for group in chosen.values():
        picked.add(min(group, key=lambda p: (p[2], p[0], p[1])))
        picked.add(min(group, key=lambda p: (-p[2], p[0], p[1])))
    return len(inside), sorted(picked)


def _sampled(client: LockgateClient, run_id: str, **kwargs: object) -> tuple[int, list[Pt]]:
    (series,) = sample_metric_histories(client.store, [run_id], ["loss"], **kwargs)  # type: ignore[arg-type]
    assert series.sampled
    return series.total, [(p.step, p.timestamp, p.value) for p in series.points]


def test_blocks_kept_on_write_equal_blocks_summarised_from_points(store_uri: str) -> None:
    client = LockgateClient(store_uri)
    run_id = client.create_run(client.create_experiment("blocks")).info.run_id
    other = client.create_run(client.create_experiment("other")).info.run_id
    points = _series()
    _log_shuffled(client, run_id, "loss", points)
    client.log_metric(other, "loss", 123.0, step=700)  # another run's block stays apart
    with read_connection(client.store.engine) as conn:
        kept = stored_blocks(conn, run_id, "loss", -10, 100)
        assert kept == blocks_from_points(conn, run_id, "loss", -10**6, 10**6)
    assert sum(b.points for b in kept.values()) == len(points) == 6314
    assert kept[700 >> 7].high_value == 50.0 and kept[2800 >> 7].low_value == -50.0
    assert (kept[3700 >> 7].high_value, kept[3700 >> 7].low_value) == (math.inf, -math.inf)
    assert kept[10].points == 128 and kept[10].low_value is None and kept[10].high_value is None
    # Ties on a value go to the earliest step, then timestamp: 9.0 at (2000, T0 + 1), not T0 + 5.
    assert (kept[15].high_value, kept[15].high_step, kept[15].high_timestamp) == (9.0, 2000, T0 + 1)
    assert (kept[15].low_value, kept[15].low_step, kept[15].low_timestamp) == (-9.0, 2000, T0 + 3)
    assert kept[-3].min_step == -300 and kept[-1].max_step == -1

    client.delete_run(other)
    client.store.gc(run_ids=[other])
    with read_connection(client.store.engine) as conn:
        assert conn.execute(select(MB.c.run_uuid).where(MB.c.run_uuid == other)).first() is None


def test_block_sampler_answers_like_the_points(store_uri: str) -> None:
    client = LockgateClient(store_uri)
    run_id = client.create_run(client.create_experiment("chart")).info.run_id
    points = _series()
    _log_shuffled(client, run_id, "loss", points)

    views = [(None, None, 40), (None, None, 80), (1000, 4000, 40), (-250, 5002, 60), (130, 3000, 20), (700, 700 + 1280, 20)]
    for start, end, max_points in views:
        got = _sampled(client, run_id, start=start, end=end, max_points=max_points)
        assert got == _reference(points, start=start, end=end, max_points=max_points), (start, end, max_points)
        with read_connection(client.store.engine) as conn:  # answered from the blocks
            assert sample_by_blocks(conn, run_id, "loss", start=start, end=end, max_points=max_points) == got
    whole = _sampled(client, run_id, max_points=40)[1]
    assert {50.0, -50.0, math.inf, -math.inf} <= {p[2] for p in whole}  # spikes never lost

    # The same answers when the blocks are summarised from the points (the fallback path).
    with read_connection(client.store.engine) as conn:
        by_blocks = sample_by_blocks(conn, run_id, "loss", start=1000, end=4000, max_points=40)
    with write_connection(client.store.engine) as conn:
        conn.execute(delete(MB).where(MB.c.run_uuid == run_id))
    with read_connection(client.store.engine) as conn:
        from_points = sample_by_blocks(conn, run_id, "loss", start=1000, end=4000, max_points=40)
    assert by_blocks is not None and by_blocks == from_points
    assert _sampled(client, run_id, max_points=80) == _reference(points, start=None, end=None, max_points=80)

    # Narrower than one block per bucket, or few enough points: the raw path, as before.
    with read_connection(client.store.engine) as conn:
        assert sample_by_blocks(conn, run_id, "loss", start=0, end=1000, max_points=40) is None
        assert sample_by_blocks(conn, run_id, "loss", start=0, end=4000, max_points=5000) is None


def test_points_written_without_blocks_fall_back_to_the_points(store_uri: str) -> None:
    """An older Lockgate still writing to the upgraded database adds points but no blocks: the
    sampler notices at the series' end and answers from the points."""
    client = LockgateClient(store_uri)
    run_id = client.create_run(client.create_experiment("stale")).info.run_id
    points = [(s, T0 + s, float(s % 17)) for s in range(4000)]
    client.log_batch(run_id, metrics=[Metric(key="loss", value=v, timestamp=t, step=s) for s, t, v in points])
    extra = [(3999, T0 + 9, 99.0), (4100, T0 + 4100, -99.0)]
    with write_connection(client.store.engine) as conn:
        conn.exec_driver_sql(
            client.store._sql_insert_metrics, [(run_id, "loss", v, False, t, s) for s, t, v in extra[:1]])
    got = _sampled(client, run_id, max_points=40)
    assert got == _reference(points + extra[:1], start=None, end=None, max_points=40)
    assert 99.0 in {p[2] for p in got[1]}


def test_an_interrupted_import_restarted_keeps_blocks_exact(sqlite_uri: str) -> None:
    """Restarting a partial import clears the run's points and their blocks, then writes both again."""
    from lockgate.store.importing import ImportedRun
    from lockgate.store.sql.importing import SqlImportRows

    client = LockgateClient(sqlite_uri)
    exp = client.create_experiment("imported")
    rows = SqlImportRows(client.store)
    run = ImportedRun(run_id="e" * 32, experiment_id=exp, name="r", user_id="u", status="FINISHED", start_time=1,
                      end_time=2)
    points = [Metric(key="loss", value=float(s % 13), timestamp=T0 + s, step=s) for s in range(3000)]
    rows.begin_run(run)
    rows.add_metrics(run.run_id, points[:1700])  # interrupted here
    rows.begin_run(run)  # the restart resets the partial run
    rows.add_metrics(run.run_id, points)
    with read_connection(client.store.engine) as conn:
        kept = stored_blocks(conn, run.run_id, "loss", 0, 100)
        assert kept == blocks_from_points(conn, run.run_id, "loss", 0, 3000)
    assert sum(b.points for b in kept.values()) == 3000
