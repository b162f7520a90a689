"""A chart of one long metric series: ``POST /api/v1/metrics/sampled`` in process and through a
``lockgate server``.

    python bench/chart_bench.py --backend sqlite --points 1000000
    python bench/chart_bench.py --backend postgres --db-name chart_bench --server

The series (``loss``, one point per step, a smooth curve with noise) is written set-based by
``scale_bench.fill_series`` (blocks included). Printed: the median of 5 calls after a warm-up,
1,000 points asked, for the whole range, a zoom on half of it, and a zoom on 60,000 steps
(narrower than 500 blocks, so read from the points), with the load average.

``--write`` measures the write path instead (the cost of keeping the blocks): ``log_batch``
points/s for 100 batches of 1,000 points of one key (steps in order) and for 2,000 batches of
one point of each of 10 keys (a training loop logging every step), median of 3 rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from scale_bench import _loadavg, _median_ms, _open_store, fill_series


def _server_ms(url: str, body: dict[str, object]) -> float:
    data = json.dumps(body).encode()

    def call() -> None:
        request = urllib.request.Request(url + "/api/v1/metrics/sampled", data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()

    return _median_ms(call, repeat=5)


def _write_rates(store: object) -> dict[str, float]:
    from lockgate.entities import Metric

    exp = store.create_experiment("write")  # type: ignore[attr-defined]
    rates: dict[str, list[float]] = {"dense_points_per_s": [], "per_step_points_per_s": []}
    for _ in range(3):
        run_id = store.create_run(experiment_id=exp).info.run_id  # type: ignore[attr-defined]
        start = time.perf_counter()
        for b in range(100):
            store.log_batch(run_id, metrics=[Metric(key="loss", value=1.0 / (1 + s), timestamp=s, step=s)  # type: ignore[attr-defined]
                                             for s in range(b * 1000, b * 1000 + 1000)])
        rates["dense_points_per_s"].append(100_000 / (time.perf_counter() - start))
        start = time.perf_counter()
        for s in range(2000):
            store.log_batch(run_id, metrics=[Metric(key=f"m{k}", value=s * 0.5, timestamp=s, step=s)  # type: ignore[attr-defined]
                                             for k in range(10)])
        rates["per_step_points_per_s"].append(20_000 / (time.perf_counter() - start))
    return {k: round(statistics.median(v)) for k, v in rates.items()}


def main() -> None:
    from lockgate.store.sql.sampling import sample_metric_histories

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("postgres", "sqlite"), required=True)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--db-name", default="chart_bench", help="PostgreSQL database (dropped and recreated)")
    ap.add_argument("--sqlite-path", default="/tmp/lockgate-chart/chart.db")
    ap.add_argument("--server", action="store_true", help="also through `lockgate server` on port 5077")
    ap.add_argument("--write", action="store_true", help="measure log_batch instead (see above)")
    args = ap.parse_args()

    store, _ = _open_store(args.backend, args.pg_admin, args.db_name, Path(args.sqlite_path))
    if args.write:
        print(json.dumps({"backend": args.backend, **_write_rates(store), "loadavg": _loadavg()}), flush=True)
        return
    run_id = store.create_run(experiment_id=store.create_experiment("chart")).info.run_id
    rate = fill_series(store.engine, run_id, args.points, int(time.time() * 1000) - 10**9)
    n = args.points
    views = {"whole": (None, None), "half": (n // 4, n // 4 + n // 2), "zoom_60k": (n // 2, n // 2 + 60_000)}
    row: dict[str, object] = {"backend": args.backend, "points": n, "fill_points_per_s": round(rate)}
    for name, (start, end) in views.items():
        row[f"{name}_ms"] = _median_ms(lambda s=start, e=end: sample_metric_histories(
            store, [run_id], ["loss"], start=s, end=e, max_points=1000), repeat=5)
    if args.server:
        url = "http://127.0.0.1:5077"
        proc = subprocess.Popen([sys.executable, "-c", "from lockgate.cli import main; main()", "server", "--backend-store-uri", store.uri,
                                 "--port", "5077"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(600):
                try:
                    urllib.request.urlopen(url + "/health", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.1)
            for name, (start, end) in views.items():
                row[f"server_{name}_ms"] = _server_ms(url, {"run_ids": [run_id], "keys": ["loss"], "start": start,
                                                             "end": end, "max_points": 1000})
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    row["loadavg"] = _loadavg()
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
