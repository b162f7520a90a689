"""``lockgate models serve --follow``: promotion-to-served time and latency during swaps.

Run by hand (not a test):  python bench/serving_follow_bench.py [--swaps 6] [--clients 4]
                                                                [--poll-interval 1.0] [--mlflow]

A SQLite registry gets two versions of a small scikit-learn pipeline (registered the way the
follow tests do it, tests/core/serving/follow_support.py). One ``lockgate models serve --follow``
process serves ``models:/churn@champion`` while ``--clients`` threads post one-row requests back
to back. The alias is moved between the two versions ``--swaps`` times, 3 s apart. Printed:

* promotion to served: from the ``set_registered_model_alias`` call returning to ``/version``
  naming the new version (p50, max), and the server's own load + warm-up time;
* request latency p50/p99 in steady state (requests that started more than 1 s away from any
  promotion) and during swaps (requests started from a promotion until 1 s after it was served);
* failed requests (anything but a 200).

MLflow has no equivalent: its scoring server serves one model for its lifetime, so a new champion
means a restart. With ``--mlflow`` the bench times ``mlflow models serve --env-manager local``
from launch to its first answer on the same model: the window without a server a restart costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core" / "serving"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))

from follow_support import register_version, scoring_server, wait_for
from live_server import free_port
from serving_support import training_frame


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _client_loop(base: str, stop: threading.Event, out: list[tuple[float, float, int]]) -> None:
    X, _ = training_frame()
    body = {"dataframe_split": json.loads(X[:1].to_json(orient="split", index=False))}
    with httpx.Client(base_url=base, timeout=30) as http:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status = http.post("/invocations", json=body).status_code
            except httpx.HTTPError:
                status = -1
            out.append((started, time.perf_counter() - started, status))


def _served_version(base: str) -> int:
    return int(httpx.get(f"{base}/version", timeout=5).json()["model"]["version"])


def bench_lockgate(work: Path, *, swaps: int, clients: int, poll_interval: float) -> None:
    from lockgate.client import LockgateClient

    tracking_uri = f"sqlite:///{work / 'registry.db'}"
    client = LockgateClient(tracking_uri)
    client.create_registered_model("churn")
    versions = [register_version(client, "churn", seed=0), register_version(client, "churn", seed=1)]
    client.set_registered_model_alias("churn", "champion", versions[0])
    windows: list[tuple[float, float]] = []
    served_after: list[float] = []
    load_seconds: list[float] = []
    results: list[list[tuple[float, float, int]]] = [[] for _ in range(clients)]
    with scoring_server("models:/churn@champion", port=free_port(), tracking_uri=tracking_uri,
                        log_path=work / "serve.log", poll_interval=poll_interval) as base:
        stop = threading.Event()
        threads = [threading.Thread(target=_client_loop, args=(base, stop, results[i])) for i in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(3.0)
        for i in range(swaps):
            target = versions[(i + 1) % 2]
            client.set_registered_model_alias("churn", "champion", target)
            promoted = time.perf_counter()
            wait_for(lambda v=target: _served_version(base) == v, timeout=60, what=f"version {target}")
            served = time.perf_counter()
            served_after.append(served - promoted)
            load_seconds.append(httpx.get(f"{base}/health", timeout=5).json()["last_swap"]["load_seconds"])
            windows.append((promoted, served + 1.0))
            time.sleep(3.0)
        stop.set()
        for thread in threads:
            thread.join()
    answers = [a for per in results for a in per]
    during = [lat for start, lat, _ in answers if any(lo <= start <= hi for lo, hi in windows)]
    steady = [lat for start, lat, _ in answers
              if all(start < lo - 1.0 or start > hi for lo, hi in windows)]
    failed = sum(1 for _, _, status in answers if status != 200)
    print(f"lockgate --follow: {swaps} swaps, {clients} clients, poll interval {poll_interval} s, "
          f"{len(answers)} requests, {failed} failed")
    print(f"  promotion to served: p50 {statistics.median(served_after):.2f} s, max {max(served_after):.2f} s "
          f"(load + warm-up in the server: p50 {statistics.median(load_seconds) * 1000:.0f} ms)")
    p99_steady, p99_during = _pct(steady, 0.99), _pct(during, 0.99)
    print(f"  latency steady state: p50 {_pct(steady, 0.5) * 1000:.1f} ms, p99 {p99_steady * 1000:.1f} ms "
          f"({len(steady)} requests)")
    print(f"  latency during swaps: p50 {_pct(during, 0.5) * 1000:.1f} ms, p99 {p99_during * 1000:.1f} ms "
          f"({len(during)} requests); p99 ratio {p99_during / p99_steady:.2f}x (target < 2x)")


def bench_mlflow_restart(work: Path) -> None:
    import lockgate
    from sklearn.linear_model import LogisticRegression

    X, y = training_frame()
    path = work / "mlflow-model"
    lockgate.sklearn.save_model(LogisticRegression().fit(X[["age", "income"]], y), path,
                                input_example=X[["age", "income"]][:3])
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", str(path), "-p", str(port),
                             "--env-manager", "local", "-w", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            # mlflow runs `uvicorn` by name: the interpreter's bin folder must be on PATH.
                            env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    try:
        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, timeout=600, what="mlflow models serve")
        print(f"mlflow models serve: {time.perf_counter() - started:.2f} s from launch to first answer "
              "(the gap a restart leaves; it has no follow mode)")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=6)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--mlflow", action="store_true", help="also time a restart of mlflow models serve")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_lockgate(Path(tmp), swaps=args.swaps, clients=args.clients, poll_interval=args.poll_interval)
        if args.mlflow:
            bench_mlflow_restart(Path(tmp))


if __name__ == "__main__":
    main()
