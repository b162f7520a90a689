"""Run-search latency on SQLite, in process, over 100,000 runs in one experiment.

Run by hand (not a test):

    python bench/search_bench.py            # 100,000 runs
    python bench/search_bench.py --runs 20000 --explain

Each run has metrics ``loss`` (5% NaN) and ``acc`` (missing on 10% of runs), params ``depth``
and ``lr``, tags ``team`` and ``stage``. Prints the median latency of ``SqlStore.search_runs``
returning one page of 100 runs for several filter and order_by shapes; the target is < 100 ms.
``--page-end`` times the same page through ``apply_run_search(..., page_end=101)`` instead.

On PostgreSQL pass ``--analyze``: right after a bulk load the planner has no statistics until
autovacuum gets to the tables, and plans are then up to 100x slower.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

CASES: list[tuple[str, str, list[str]]] = [
    ("metric filter + param, order by that metric", "metrics.loss < 0.5 and params.depth = '6'", ["metrics.loss ASC"]),
    ("param filter, default order", "params.depth = '6'", []),
    ("no filter, order by metric DESC", "", ["metrics.acc DESC"]),
    ("metric filter, order by another metric", "metrics.acc > 0.5", ["metrics.loss ASC"]),
    ("tag LIKE + status, order by param", "tags.team LIKE 'ri%' and status = 'FINISHED'", ["params.lr DESC"]),
    ("selective metric range, default order", "metrics.loss >= 0.25 and metrics.loss < 0.2505", []),
    ("ILIKE on run name, order by start_time ASC", "attributes.run_name ILIKE '%7'", ["start_time ASC"]),
    ("metric IS NULL", "metrics.acc IS NULL", ["metrics.loss DESC"]),
]


def _median_ms(fn: Callable[[], Any], repeat: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def seed(engine: Any, exp_id: int, n: int) -> None:
    from lockgate.store.sql.engine import write_connection
    from lockgate.store.sql.tables import LatestMetricTable, ParamTable, RunTable, RunTagTable
    from sqlalchemy import insert

    rng = random.Random(7)
    now = int(time.time() * 1000)
    for start in range(0, n, 5_000):
        runs, params, metrics, tags = [], [], [], []
        for i in range(start, min(n, start + 5_000)):
            rid = uuid.uuid4().hex
            runs.append({"run_uuid": rid, "experiment_id": exp_id, "name": f"run-{i}", "user_id": "bench",
                             "status": rng.choice(["FINISHED", "FINISHED", "FAILED", "RUNNING"]),
                             "start_time": now - i, "end_time": now, "lifecycle_stage": "active", "artifact_uri": ""})
            params += [{"run_uuid": rid, "key": "depth", "value": str(rng.randint(2, 10))},
                       {"run_uuid": rid, "key": "lr", "value": str(rng.choice([0.1, 0.01, 0.001]))}]
            nan = rng.random() < 0.05
            metrics.append({"run_uuid": rid, "key": "loss", "value": 0.0 if nan else rng.random(), "is_nan": nan,
                                "timestamp": now, "step": 0})
            if rng.random() < 0.9:
                metrics.append({"run_uuid": rid, "key": "acc", "value": rng.random(), "is_nan": False, "timestamp": now, "step": 0})
            tags += [{"run_uuid": rid, "key": "team", "value": rng.choice(["risk", "growth", "Risk"])},
                     {"run_uuid": rid, "key": "stage", "value": "dev"}]
        with write_connection(engine) as conn:
            conn.execute(insert(RunTable), runs)
            conn.execute(insert(ParamTable), params)
            conn.execute(insert(LatestMetricTable), metrics)
            conn.execute(insert(RunTagTable), tags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--uri", help="database URI (default: a temporary SQLite file)")
    parser.add_argument("--explain", action="store_true", help="print each query plan")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE after seeding (planner statistics)")
    parser.add_argument("--page-end", action="store_true", help="pass page_end to apply_run_search")
    args = parser.parse_args()

    import os

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LOCKGATE_HOME"] = str(Path(tmp) / "home")
        from lockgate.search import apply_run_search
        from lockgate.store.sql.run_rows import load_runs
        from lockgate.store.sql.store import SqlStore
        from lockgate.store.sql.tables import RunTable
        from sqlalchemy import select

        store = SqlStore(args.uri or f"sqlite:///{Path(tmp) / 'search.db'}")
        exp = store.create_experiment(f"search-bench-{uuid.uuid4().hex[:6]}")
        start = time.perf_counter()
        seed(store.engine, int(exp), args.runs)
        print(f"seeded {args.runs:,} runs in {time.perf_counter() - start:.1f} s")
        if args.analyze:
            with store.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        R = RunTable
        for label, filter_string, order_by in CASES:
            def search(filter_string: str = filter_string, order_by: list[str] = order_by) -> int:
                if not args.page_end:
                    return len(store.search_runs([exp], filter_string=filter_string, order_by=order_by, max_results=100))
                stmt = select(R).where(R.c.experiment_id.in_([int(exp)]), R.c.lifecycle_stage.in_(["active"]))
                stmt = apply_run_search(stmt, filter_string=filter_string, order_by=order_by, page_end=101).limit(101)
                with store.engine.connect() as conn:
                    rows = conn.execute(stmt).all()
                    return len(load_runs(conn, rows[:100]))

            found = search()
            ms = _median_ms(search)
            print(f"{ms:8.1f} ms  {found:3d} runs  {label}: {filter_string!r} {order_by}")
            if args.explain and store.engine.dialect.name == "sqlite":
                stmt = select(R).where(R.c.experiment_id == int(exp), R.c.lifecycle_stage.in_(["active"]))
                stmt = apply_run_search(
                    stmt, filter_string=filter_string, order_by=order_by, page_end=101 if args.page_end else None
                ).limit(101)
                sql = str(stmt.compile(store.engine, compile_kwargs={"literal_binds": True}))
                with store.engine.connect() as conn:
                    plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
                for row in plan:
                    print("            ", row[-1])


if __name__ == "__main__":
    main()
