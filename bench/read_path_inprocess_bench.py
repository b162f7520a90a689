"""The MLflow surface's read paths in one process, entity path against row-to-JSON path,
alternated call by call: ``search_runs`` + ``run_json`` vs ``mlflow_run_page`` (1,000 runs
unfiltered, and tracking_bench's filtered query), ``mlflow_history_points`` + ``points_json``
vs ``mlflow_history_json`` (20,000 points), each ending in the orjson bytes the server sends.

Reports the best wall time and the median CPU time of this process (the server's Python work;
on a loaded machine the CPU time moves far less than the wall time). Needs a database
populated by ``read_path_bench.py --populate``:

    PYTHONPATH=core python bench/read_path_inprocess_bench.py --uri postgresql://... --ids ids.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from lockgate.server.wire import points_json, run_json
from lockgate.store.sql.metric_history import mlflow_history_json, mlflow_history_points
from lockgate.store.sql.run_pages import mlflow_run_page
from lockgate.store.sql.store import SqlStore

FILTER = {"filter_string": "metrics.acc > 0.5 and params.lr = '0.01'", "order_by": ["metrics.acc DESC"],
          "max_results": 100}


def _calls(store: SqlStore, ids: dict[str, Any]) -> dict[str, tuple[Callable[[], bytes], Callable[[], bytes]]]:
    exp, run = [ids["experiment_id"]], ids["history_run"]

    def entities(**kw: Any) -> Callable[[], bytes]:
        return lambda: orjson.dumps({"runs": [run_json(r) for r in store.search_runs(exp, **kw)]})

    def rows(**kw: Any) -> Callable[[], bytes]:
        return lambda: orjson.dumps({"runs": mlflow_run_page(store, exp, **kw)[0]})

    return {
        "unfiltered search": (entities(max_results=1000), rows(max_results=1000)),
        "filtered search": (entities(**FILTER), rows(**FILTER)),
        "history": (lambda: orjson.dumps({"metrics": points_json("m0", mlflow_history_points(store, run, "m0")[0])}),
                    lambda: orjson.dumps({"metrics": mlflow_history_json(store, run, "m0")[0]})),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--uri", required=True)
    ap.add_argument("--ids", type=Path, required=True)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    store = SqlStore(args.uri)
    before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    result: dict[str, Any] = {}
    for name, (old, new) in _calls(store, json.loads(args.ids.read_text())).items():
        assert orjson.loads(old()) is not None and new()
        wall: dict[str, list[float]] = {"entities": [], "rows": []}
        cpu: dict[str, list[float]] = {"entities": [], "rows": []}
        for _ in range(args.reps):
            for label, call in (("entities", old), ("rows", new)):
                began, began_cpu = time.perf_counter(), time.process_time()
                call()
                wall[label].append((time.perf_counter() - began) * 1000)
                cpu[label].append((time.process_time() - began_cpu) * 1000)
        result[name] = {label: {"best_ms": round(min(wall[label]), 1), "cpu_median_ms": round(statistics.median(cpu[label]), 1)}
                        for label in wall}
    after = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(json.dumps({"backend": store.engine.dialect.name, **result, "load": f"{before} -> {after}"}))


if __name__ == "__main__":
    main()
