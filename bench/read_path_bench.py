"""Server read paths only: ``runs/search`` (unfiltered over 1,000 runs, and tracking_bench's
filtered query) and ``metrics/get-history`` (20,000 points), timed the way
``/work/shared/bench/tracking_bench.py`` times them (requests, the answer decoded).

The data is written once (``--populate``) and then read by any number of servers started on
the same database, so an old and a new tree can be alternated against identical rows:

    python bench/read_path_bench.py --url http://127.0.0.1:5000 --populate > ids.json
    python bench/read_path_bench.py --url http://127.0.0.1:5000 --ids ids.json --conn keepalive

Prints one JSON line: p50/best in ms per workload, and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import requests

API = "/api/2.0/mlflow"
LRS = ["0.1", "0.01", "0.001", "0.0001"]
FILTER = "metrics.acc > 0.5 and params.lr = '0.01'"


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class _Client:
    def __init__(self, url: str, conn: str) -> None:
        self.base = url.rstrip("/") + API
        self.session = requests.Session()
        if conn == "close":
            self.session.headers["Connection"] = "close"

    def post(self, path: str, body: dict[str, Any]) -> Any:
        answer = self.session.post(self.base + path, json=body, timeout=120)
        answer.raise_for_status()
        return answer.json()

    def get(self, path: str, params: dict[str, Any]) -> Any:
        answer = self.session.get(self.base + path, params=params, timeout=120)
        answer.raise_for_status()
        return answer.json()


def populate(c: _Client, runs: int, points: int) -> dict[str, Any]:
    """tracking_bench's w1 runs (10 params, 5 tags, acc/loss) and one run with ``points`` steps of m0."""
    exp_id = c.post("/experiments/create", {"name": f"readpath-{time.time_ns()}"})["experiment_id"]
    for i in range(runs):
        run_id = c.post("/runs/create", {"experiment_id": exp_id, "start_time": int(time.time() * 1000),
                                         "run_name": f"run-{i}"})["run"]["info"]["run_id"]
        acc = ((i * 7919) % 1000) / 1000.0
        ts = int(time.time() * 1000)
        c.post("/runs/log-batch", {
            "run_id": run_id,
            "params": [{"key": "lr", "value": LRS[i % 4]}] + [{"key": f"p{j}", "value": f"v{(i + j) % 17}"}
                                                             for j in range(1, 10)],
            "tags": [{"key": f"t{j}", "value": f"tag-{(i * j) % 13}"} for j in range(5)],
            "metrics": [{"key": "acc", "value": acc, "timestamp": ts, "step": 0},
                        {"key": "loss", "value": 1.0 - acc, "timestamp": ts, "step": 0}],
        })
    # In an experiment of its own, as in tracking_bench: the search sees exactly ``runs`` runs.
    history_exp = c.post("/experiments/create", {"name": f"readpath-history-{time.time_ns()}"})["experiment_id"]
    history_run = c.post("/runs/create", {"experiment_id": history_exp})["run"]["info"]["run_id"]
    for start in range(0, points, 1000):
        ts = int(time.time() * 1000)
        c.post("/runs/log-batch", {"run_id": history_run, "metrics": [
            {"key": "m0", "value": step * 0.5, "timestamp": ts, "step": step}
            for step in range(start, min(points, start + 1000))]})
    return {"experiment_id": exp_id, "history_run": history_run, "runs": runs, "points": points}


def _timed(call: Any, reps: int) -> dict[str, float]:
    times = []
    for _ in range(reps):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return {"p50_ms": round(statistics.median(times), 2), "best_ms": round(min(times), 2)}


def measure(c: _Client, ids: dict[str, Any], reps: int) -> dict[str, Any]:
    exp_id = ids["experiment_id"]
    unfiltered = {"experiment_ids": [exp_id], "max_results": 1000}
    filtered = {"experiment_ids": [exp_id], "filter": FILTER, "order_by": ["metrics.acc DESC"], "max_results": 100}
    history = {"run_id": ids["history_run"], "metric_key": "m0"}
    assert len(c.post("/runs/search", unfiltered)["runs"]) == min(1000, ids["runs"])
    assert len(c.get("/metrics/get-history", history)["metrics"]) == ids["points"]
    return {
        "unfiltered_search": _timed(lambda: c.post("/runs/search", unfiltered), reps),
        "filtered_search": _timed(lambda: c.post("/runs/search", filtered), reps * 3),
        "history": _timed(lambda: c.get("/metrics/get-history", history), reps),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--conn", choices=["keepalive", "close"], default="keepalive")
    ap.add_argument("--populate", action="store_true")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--points", type=int, default=20000)
    ap.add_argument("--ids", type=Path)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    c = _Client(args.url, args.conn)
    if args.populate:
        print(json.dumps(populate(c, args.runs, args.points)))
        return
    ids = json.loads(args.ids.read_text())
    before = _loadavg()
    result = measure(c, ids, args.reps)
    print(json.dumps({"label": args.label, "conn": args.conn, **result, "load": f"{before} -> {_loadavg()}"}))


if __name__ == "__main__":
    main()
