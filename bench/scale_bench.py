"""How the tracking store behaves as it grows: 1,000 to 1,000,000 runs in one experiment.

Run by hand (not a test):

    python bench/scale_bench.py --backend postgres            # fresh database lockgate_scale
    python bench/scale_bench.py --backend sqlite --max-runs 100000
    python bench/scale_bench.py --backend postgres --sizes 1000,10000 --explain

One database grows through the sizes (default 1,000 / 10,000 / 100,000 / 1,000,000 runs). Every
run has 10 params (``p0`` takes 10 values, the others are unique), 10 metrics with one point each
(so 1,000,000 runs hold 10,000,000 metric points) and 3 tags. Before the first size one extra run
gets a 1,000,000-point series ``loss``. At each size it prints, as the median of 7 calls after a
warm-up, through the same functions the server routes call (in process, so the figures are the
database and store cost without HTTP):

* filtered search: ``metrics.m0 > 0.5 and params.p0 = 'v3'`` ordered by ``metrics.m0 DESC``,
  100 rows (the shape of tracking_bench's w4);
* unfiltered first page: 100 and 1,000 runs in the default order;
* the UI's runs table: the column chooser (``list_run_keys``, 6 keys per kind), the run count
  (``experiment_stats``) and one page of 200 runs with 4 metrics, 4 params and the system tags
  projected (``POST /api/v1/runs/search`` with ``columns``);
* the 1,000,000-point history read whole (``get_metric_history``) and downsampled for a chart
  (``sample_metric_histories``, 1,000 points, as ``POST /api/v1/metrics/sampled``);
* database size and the fill's insert rate.

The fill does not go through ``log_batch`` (that path is measured by tracking_bench, and a
Python client cannot make 34 million rows in minutes on a shared 2-core machine): each chunk of
10,000 runs is one transaction of set-based ``INSERT ... SELECT`` statements over the store's
own engine and schema, the database generating the rows itself (``generate_series`` on
PostgreSQL, a recursive CTE on SQLite). Run ids are 32 random hex digits, as ``create_run``
mints them, so the indexes see random inserts; the insert rate printed is rows per second
into the fully indexed tables (on PostgreSQL with the foreign-key triggers skipped for the fill). After each fill PostgreSQL gets ``VACUUM ANALYZE`` (what autovacuum does to a table
that grew; without statistics the planner picks plans up to 100x slower) and SQLite ``ANALYZE``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
SERIES_POINTS = 1_000_000
CHUNK_RUNS = 10_000
FILTER = "metrics.m0 > 0.5 and params.p0 = 'v3'"
ORDER = ["metrics.m0 DESC"]
UI_METRICS = ["m0", "m1", "m2", "m3"]
UI_PARAMS = ["p0", "p1", "p2", "p3"]
UI_TAGS = ["mlflow.source.name", "mlflow.user", "lockgate.orchestrator", "lockgate.airflow.dag_id"]


def _median_ms(fn: Callable[[], Any], repeat: int = 7, *, warm: bool = True) -> float:
    if warm:
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


# Set-based fill: the database generates the rows itself (no Python per row), one chunk of runs
# per transaction. {ids}: the chunk's run numbers; {rand}: a float in [0, 1); {hex}: 32 random
# hex digits. Runs of a chunk are found again by their start_time, which encodes the run number.
_FILL = {
    "postgresql": {"ids": "generate_series({a}, {b} - 1) AS s(i)", "rand": "random()",
                   "hex": "md5(random()::text || s.i::text)", "digit": "CAST(floor(random() * 10) AS INTEGER)"},
    "sqlite": {"ids": "(WITH RECURSIVE s(i) AS (SELECT {a} UNION ALL SELECT i + 1 FROM s WHERE i < {b} - 1) "
                      "SELECT i FROM s) AS s",
               "rand": "((random() / 18446744073709551616.0) + 0.5)", "hex": "lower(hex(randomblob(16)))",
               "digit": "CAST(((random() / 18446744073709551616.0) + 0.5) * 10 AS INTEGER)"},
}


def _fill_sql(dialect: str, exp_id: int, a: int, b: int, t0: int) -> list[str]:
    f = _FILL[dialect]
    ids, rand, hexid = f["ids"].format(a=a, b=b), f["rand"], f["hex"]
    chunk = f"FROM runs r WHERE r.experiment_id = {exp_id} AND r.lifecycle_stage = 'active' " \
            f"AND r.start_time >= {t0 + a * 10} AND r.start_time < {t0 + b * 10}"
    keys = "(SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 " \
           "UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS k"
    with_keys = chunk.replace("FROM runs r", "FROM runs r, " + keys)
    with_latest = chunk.replace("FROM runs r", "FROM runs r JOIN latest_metrics lm ON lm.run_uuid = r.run_uuid")
    runs = ("INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, lifecycle_stage, "
            f"artifact_uri) SELECT {hexid}, {exp_id}, 'run-' || s.i, 'bench', 'FINISHED', {t0} + s.i * 10, "
            f"{t0} + s.i * 10 + 5, 'active', '/a/run-' || s.i FROM {ids}")
    params = ("INSERT INTO params (run_uuid, key, value) SELECT r.run_uuid, 'p' || k.k, CASE WHEN k.k = 0 THEN "
              f"'v' || {f['digit']} ELSE k.k || '-' || r.name END {with_keys}")
    latest = ("INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) SELECT r.run_uuid, "
              f"'m' || k.k, {rand}, false, r.start_time, 0 {with_keys}")
    points = ("INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step) SELECT lm.run_uuid, lm.key, "
              f"lm.value, lm.is_nan, lm.timestamp, lm.step {with_latest}")
    tags = ("INSERT INTO tags (run_uuid, key, value) SELECT r.run_uuid, t.key, CASE WHEN t.key = 'mlflow.runName' "
            "THEN r.name ELSE t.value END FROM runs r, (SELECT 'mlflow.user' AS key, 'bench' AS value UNION ALL "
            "SELECT 'mlflow.source.name', 'train.py' UNION ALL SELECT 'mlflow.runName', '') AS t "
            + chunk[len("FROM runs r "):])
    return [runs, params, latest, points, tags]


def _write(engine: Any, statements: list[str]) -> int:
    """Run the statements in one write transaction; returns how many rows they inserted."""
    from lockgate.store.sql.engine import write_connection

    rows = 0
    with write_connection(engine) as conn:
        if engine.dialect.name == "postgresql":
            # The rows are consistent by construction; skipping the per-row foreign-key triggers
            # makes the fill 2x faster (ordinary writes keep them).
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for sql in statements:
            rows += conn.exec_driver_sql(sql).rowcount
    return rows


def _maintain(engine: Any) -> None:
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            raw.driver_connection.autocommit = True  # VACUUM refuses to run inside a transaction
            raw.cursor().execute("VACUUM ANALYZE")
        finally:
            raw.close()
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def _db_size(engine: Any, sqlite_path: Path | None) -> int:
    if sqlite_path is not None:
        return sum(p.stat().st_size for p in sqlite_path.parent.glob(sqlite_path.name + "*"))
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar())


def _loadavg() -> str:
    with open("/proc/loadavg") as handle:
        return handle.read().split()[0]


def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeRemainingColumn())


def fill(engine: Any, exp_id: int, first: int, upto: int, t0: int) -> tuple[float, float]:
    """Add runs ``first..upto``; returns (runs/s, rows/s)."""
    start, rows = time.perf_counter(), 0
    with _progress() as progress:
        task = progress.add_task(f"runs {first:,} -> {upto:,}", total=upto - first, rate="")
        done = first
        while done < upto:
            count = min(CHUNK_RUNS, upto - done)
            rows += _write(engine, _fill_sql(engine.dialect.name, exp_id, done, done + count, t0))
            done += count
            elapsed = time.perf_counter() - start
            progress.update(task, advance=count, rate=f"{(done - first) / elapsed:,.0f} runs/s {rows / elapsed:,.0f} rows/s")
    elapsed = time.perf_counter() - start
    return (upto - first) / elapsed, rows / elapsed


def fill_series(engine: Any, run_id: str, points: int, t0: int) -> float:
    """A run with one ``points``-point series ``loss``; returns points/s."""
    f = _FILL[engine.dialect.name]
    start = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task(f"series loss of {points:,} points", total=points, rate="")
        for first in range(0, points, 200_000):
            last = min(points, first + 200_000)
            _write(engine, [(
                "INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step) SELECT "
                f"'{run_id}', 'loss', 1.0 / (1 + s.i) + {f['rand']} * 0.01, false, {t0} + s.i, s.i "
                f"FROM {f['ids'].format(a=first, b=last)}")])
            progress.update(task, advance=last - first, rate=f"{last / (time.perf_counter() - start):,.0f} points/s")
    _write(engine, [("INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) SELECT run_uuid, "
                     f"key, value, is_nan, timestamp, step FROM metrics WHERE run_uuid = '{run_id}' AND key = 'loss' "
                     f"AND step = {points - 1}")])
    # The chart's per-block min/max, which log_batch keeps for logged points.
    from lockgate.store.sql.engine import write_connection
    from lockgate.store.sql.metric_blocks import rebuild_blocks

    with write_connection(engine) as conn:
        rebuild_blocks(conn, [run_id])
    return points / (time.perf_counter() - start)


def measure(store: Any, exp_id: str, series_run: str, skip: frozenset[str] = frozenset()) -> dict[str, float]:
    """The figures named in the module docstring; names in ``skip`` are left out."""
    from lockgate.store.projection import RunColumns
    from lockgate.store.sql.sampling import sample_metric_histories
    from lockgate.store.sql.views import experiment_stats, list_run_keys

    columns = RunColumns(params=UI_PARAMS, metrics=UI_METRICS, tags=UI_TAGS)
    timed: dict[str, Callable[[], float]] = {
        "filtered_search_ms": lambda: _median_ms(lambda: store.search_runs(
            [exp_id], filter_string=FILTER, order_by=ORDER, max_results=100)),
        "first_page_100_ms": lambda: _median_ms(lambda: store.search_runs([exp_id], max_results=100)),
        "first_page_1000_ms": lambda: _median_ms(lambda: store.search_runs([exp_id], max_results=1000), repeat=5),
        "ui_keys_ms": lambda: _median_ms(lambda: list_run_keys(store, [exp_id], max_results=6)),
        "ui_stats_ms": lambda: _median_ms(lambda: experiment_stats(store, [exp_id])),
        "ui_table_page_ms": lambda: _median_ms(lambda: store.search_runs([exp_id], max_results=200, columns=columns)),
        "history_full_ms": lambda: _median_ms(lambda: store.get_metric_history(series_run, "loss"), repeat=1,
                                              warm=False),
        "history_sampled_ms": lambda: _median_ms(
            lambda: sample_metric_histories(store, [series_run], ["loss"], max_points=1000), repeat=3),
    }
    return {name: run() for name, run in timed.items() if name not in skip}


def explain(store: Any, exp_id: str) -> None:
    """Print the plans of the searches (PostgreSQL: EXPLAIN ANALYZE)."""
    from lockgate.search import apply_run_search
    from lockgate.store.sql.tables import RunTable
    from sqlalchemy import select

    runs = RunTable
    base = select(runs).where(runs.c.experiment_id == int(exp_id), runs.c.lifecycle_stage == "active")
    for label, flt, order in (("filtered", FILTER, ORDER), ("unfiltered", "", [])):
        stmt = apply_run_search(base, filter_string=flt, order_by=order, page_end=101).limit(101)
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if store.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        with store.engine.connect() as conn:
            if store.engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET max_parallel_workers_per_gather = 0")  # as search_runs does
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            print(f"--- {label}\n" + "\n".join(str(r) for r in conn.exec_driver_sql(prefix + sql)))


def _open_store(backend: str, pg_admin: str, db_name: str, sqlite_path: Path) -> tuple[Any, Path | None]:
    from lockgate.store.sql.store import SqlStore

    if backend == "postgres":
        from sqlalchemy import create_engine, text

        admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        admin.dispose()
        return SqlStore(pg_admin.rsplit("/", 1)[0] + "/" + db_name), None
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    for old in sqlite_path.parent.glob(sqlite_path.name + "*"):
        old.unlink()
    return SqlStore(f"sqlite:///{sqlite_path}"), sqlite_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("postgres", "sqlite"), required=True)
    ap.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES), help="run counts to stop at")
    ap.add_argument("--max-runs", type=int, default=None, help="stop after the last size not above this")
    ap.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--db-name", default="lockgate_scale", help="PostgreSQL database (dropped and recreated)")
    ap.add_argument("--sqlite-path", default="/tmp/lockgate-scale/scale.db")
    ap.add_argument("--series-points", type=int, default=SERIES_POINTS)
    ap.add_argument("--explain", action="store_true", help="print the search plans at each size")
    ap.add_argument("--measure-only", action="store_true",
                    help="no fill: measure the database a previous run left (after a migration, say)")
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--skip", default="", help="figures to leave out, e.g. ui_keys_ms,history_full_ms")
    args = ap.parse_args()

    sizes = [int(s) for s in args.sizes.split(",")]
    if args.max_runs is not None:
        sizes = [s for s in sizes if s <= args.max_runs]
    if args.measure_only:
        _measure_existing(args)
        return
    store, sqlite_path = _open_store(args.backend, args.pg_admin, args.db_name, Path(args.sqlite_path))
    engine = store.engine
    exp_id = store.create_experiment("scale")
    series_exp = store.create_experiment("series")
    series_run = store.create_run(experiment_id=series_exp).info.run_id
    t0 = int(time.time() * 1000) - 10**9
    series_rate = fill_series(engine, series_run, args.series_points, t0)
    print(f"load average {_loadavg()}  series fill {series_rate:,.0f} points/s")
    results: list[dict[str, Any]] = []
    have = 0
    for size in sizes:
        runs_s, rows_s = fill(engine, int(exp_id), have, size, t0)
        have = size
        maint = time.perf_counter()
        _maintain(engine)
        row: dict[str, Any] = {"runs": size, "points": size * 10, "fill_runs_per_s": round(runs_s),
                               "fill_rows_per_s": round(rows_s), "maintain_s": round(time.perf_counter() - maint, 1)}
        row.update(measure(store, exp_id, series_run, frozenset(filter(None, args.skip.split(",")))))
        row["db_mb"] = round(_db_size(engine, sqlite_path) / 2**20)
        row["loadavg"] = _loadavg()
        results.append(row)
        print(json.dumps(row), flush=True)
        if args.explain:
            explain(store, exp_id)
    if args.json:
        Path(args.json).write_text(json.dumps({"backend": args.backend, "rows": results}, indent=2))
    _print_table(args.backend, results)


def _measure_existing(args: argparse.Namespace) -> None:
    from lockgate.store.sql.store import SqlStore

    if args.backend == "postgres":
        store, sqlite_path = SqlStore(args.pg_admin.rsplit("/", 1)[0] + "/" + args.db_name), None
    else:
        store, sqlite_path = SqlStore(f"sqlite:///{args.sqlite_path}"), Path(args.sqlite_path)
    exp = store.get_experiment_by_name("scale")
    series = store.get_experiment_by_name("series")
    assert exp is not None and series is not None, "no database from an earlier run of this bench"
    runs = store.search_runs([series.experiment_id], max_results=1)
    with store.engine.connect() as conn:
        count = int(conn.exec_driver_sql("SELECT count(*) FROM runs WHERE experiment_id = "
                                         f"{int(exp.experiment_id)}").scalar())
    row: dict[str, Any] = {"runs": count, "points": count * 10}
    row.update(measure(store, exp.experiment_id, runs[0].info.run_id, frozenset(filter(None, args.skip.split(",")))))
    row["db_mb"] = round(_db_size(store.engine, sqlite_path) / 2**20)
    row["loadavg"] = _loadavg()
    print(json.dumps(row), flush=True)
    if args.explain:
        explain(store, exp.experiment_id)


def _print_table(backend: str, results: list[dict[str, Any]]) -> None:
    cols = ["runs", "filtered_search_ms", "first_page_100_ms", "first_page_1000_ms", "ui_keys_ms", "ui_stats_ms",
            "ui_table_page_ms", "history_full_ms", "history_sampled_ms", "db_mb", "fill_runs_per_s", "fill_rows_per_s",
            "loadavg"]
    print(f"\n{backend}\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for row in results:
        print("| " + " | ".join(f"{row[c]:,}" if isinstance(row.get(c), int) else str(row.get(c, "-")) for c in cols) + " |")


if __name__ == "__main__":
    os.environ.setdefault("LOCKGATE_HOME", "/tmp/lockgate-scale/home")
    main()
