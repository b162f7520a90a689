"""In-process tracking benchmark on SQLite: Lockgate side by side with MLflow.

Run by hand (not a test):

    python bench/tracking_core_bench.py               # Lockgate only
    python bench/tracking_core_bench.py --mlflow      # plus MLflow's in-process client, same sizes

Prints runs/s (1,000 runs with 10 params and 5 tags), metric points/s (100,000 points in
batches of 1,000), the latency of a 20,000-point history read, and of a filtered and
ordered search returning 100 runs out of 1,000 and out of 100,000.
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

N_RUNS = 1_000
N_POINTS = 100_000
BATCH = 1_000
HISTORY = 20_000
BIG_CORPUS = 100_000
FILTER = "metrics.loss < 0.5 and params.depth = '6'"
ORDER = ["metrics.loss ASC"]


def _best_ms(fn: Callable[[], Any], repeat: int = 7) -> float:
    fn()  # warm caches and prepared statements
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


class LockgateSide:
    name = "lockgate"

    def __init__(self, root: Path) -> None:
        from lockgate import LockgateClient

        self.uri = f"sqlite:///{root / 'lockgate.db'}"
        self.client = LockgateClient(self.uri)

    def experiment(self, name: str) -> str:
        return self.client.create_experiment(name)

    def create_run(self, exp: str, params: dict[str, str], tags: dict[str, str]) -> str:
        run_id = self.client.create_run(exp, tags=tags, context_tags=False).info.run_id
        self.client.log_params(run_id, params)
        return run_id

    def log_points(self, run_id: str, key: str, steps: range) -> None:
        from lockgate.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(run_id, metrics=[Metric(key=key, value=s * 0.001, timestamp=now, step=s)
                                               for s in steps])

    def history(self, run_id: str, key: str) -> int:
        return len(self.client.get_metric_history(run_id, key))

    def search(self, exp: str) -> int:
        return len(self.client.search_runs([exp], FILTER, order_by=ORDER, max_results=100))

    def seed_corpus(self, exp: str, n: int) -> None:
        """Bulk-insert n runs with a loss metric and a depth param straight into the tables."""
        from lockgate.store.sql.engine import write_connection
        from lockgate.store.sql.tables import LatestMetricTable, MetricTable, ParamTable, RunTable
        from sqlalchemy import insert

        engine = self.client.store.engine  # type: ignore[attr-defined]
        rng = random.Random(7)
        now = int(time.time() * 1000)
        for start in range(0, n, 5_000):
            runs, params, metrics = [], [], []
            for i in range(start, min(n, start + 5_000)):
                rid = uuid.uuid4().hex
                runs.append({"run_uuid": rid, "experiment_id": int(exp), "name": f"r{i}", "user_id": "bench",
                                 "status": "FINISHED", "start_time": now - i, "end_time": now, "lifecycle_stage": "active",
                                 "artifact_uri": ""})
                params.append({"run_uuid": rid, "key": "depth", "value": str(rng.randint(2, 10))})
                loss = rng.random()
                metrics.append({"run_uuid": rid, "key": "loss", "value": loss, "is_nan": False, "timestamp": now, "step": 0})
            with write_connection(engine) as conn:
                conn.execute(insert(RunTable), runs)
                conn.execute(insert(ParamTable), params)
                conn.execute(insert(MetricTable), metrics)
                conn.execute(insert(LatestMetricTable), metrics)


class MlflowSide:
    name = "mlflow"

    def __init__(self, root: Path) -> None:
        import mlflow
        from mlflow.tracking import MlflowClient

        self.uri = f"sqlite:///{root / 'mlflow.db'}"
        mlflow.set_tracking_uri(self.uri)
        self.client = MlflowClient(self.uri)

    def experiment(self, name: str) -> str:
        return self.client.create_experiment(name, artifact_location=tempfile.mkdtemp())

    def create_run(self, exp: str, params: dict[str, str], tags: dict[str, str]) -> str:
        from mlflow.entities import Param

        run_id = self.client.create_run(exp, tags=tags).info.run_id
        self.client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()])
        return run_id

    def log_points(self, run_id: str, key: str, steps: range) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(run_id, metrics=[Metric(key, s * 0.001, now, s) for s in steps])

    def history(self, run_id: str, key: str) -> int:
        return len(self.client.get_metric_history(run_id, key))

    def search(self, exp: str) -> int:
        return len(self.client.search_runs([exp], FILTER, order_by=ORDER, max_results=100))


def bench(side: Any, *, big: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    exp = side.experiment("bench-runs")
    params = {f"p{i}": str(i) for i in range(9)}
    tags = {f"t{i}": str(i) for i in range(5)}
    rng = random.Random(1)
    start = time.perf_counter()
    run_ids = []
    for i in range(N_RUNS):
        run_ids.append(side.create_run(exp, {**params, "depth": str(rng.randint(2, 10))}, tags))
    out["runs/s (10 params, 5 tags)"] = N_RUNS / (time.perf_counter() - start)
    for rid in run_ids:
        side.log_points(rid, "loss", range(rng.randint(0, 9), rng.randint(0, 9) + 1))

    target = run_ids[0]
    start = time.perf_counter()
    for batch_start in range(0, N_POINTS, BATCH):
        side.log_points(target, "throughput", range(batch_start, batch_start + BATCH))
    out["metric points/s (batches of 1,000)"] = N_POINTS / (time.perf_counter() - start)

    hist_run = run_ids[1]
    for batch_start in range(0, HISTORY, BATCH):
        side.log_points(hist_run, "hist", range(batch_start, batch_start + BATCH))
    assert side.history(hist_run, "hist") == HISTORY
    out["history read, 20,000 points (ms)"] = _best_ms(lambda: side.history(hist_run, "hist"))
    out["search 100 of 1,000 runs (ms)"] = _best_ms(lambda: side.search(exp))
    if big and hasattr(side, "seed_corpus"):
        big_exp = side.experiment("bench-big")
        side.seed_corpus(big_exp, BIG_CORPUS)
        assert side.search(big_exp) == 100
        out["search 100 of 100,000 runs (ms)"] = _best_ms(lambda: side.search(big_exp))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mlflow", action="store_true", help="also measure MLflow's in-process client")
    parser.add_argument("--no-big", action="store_true", help="skip the 100,000-run search corpus")
    args = parser.parse_args()

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        import os

        os.environ["LOCKGATE_HOME"] = str(root / "home")
        results["lockgate"] = bench(LockgateSide(root), big=not args.no_big)
        if args.mlflow:
            results["mlflow"] = bench(MlflowSide(root), big=False)

    from rich.console import Console
    from rich.table import Table

    table = Table(title="Tracking core, in-process on SQLite")
    table.add_column("measure")
    for side in results:
        table.add_column(side, justify="right")
    if "mlflow" in results:
        table.add_column("ratio", justify="right")
    for measure in results["lockgate"]:
        row = [measure] + [f"{results[s].get(measure, float('nan')):,.1f}" for s in results]
        if "mlflow" in results and measure in results["mlflow"]:
            a, b = results["lockgate"][measure], results["mlflow"][measure]
            ratio = a / b if "/s" in measure else b / a
            row.append(f"{ratio:,.1f}x")
        elif "mlflow" in results:
            row.append("")
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
