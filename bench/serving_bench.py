"""Scoring server and batch prediction benchmark: Lockgate vs ``mlflow models serve``.

Run by hand (not a test):  python bench/serving_bench.py [--rows 1000000] [--seconds 15]

Both servers serve the *same* model directory (saved by ``lockgate.sklearn.save_model``, which
MLflow loads natively), each as one uvicorn worker on loopback, measured one after the other by
the same client code:

* latency: p50/p95 of sequential one-row ``dataframe_split`` requests over a keep-alive connection;
* throughput: rows/s with 8 concurrent clients each sending 1,000-row requests for N seconds.

Then batch prediction of a 1,000,000-row Parquet file through ``predict_batch`` in a child
process, reporting wall time, rows/s and the child's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

FEATURES = [f"f{i}" for i in range(8)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_data(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, len(FEATURES))), columns=FEATURES)
    frame["plan"] = rng.choice(["basic", "pro", "team"], rows)
    return frame


def save_model(path: Path) -> None:
    import lockgate
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X = make_data(5000)
    y = ((X["f0"] + X["f1"] > 0) ^ (X["plan"] == "pro")).astype(int)
    model = make_pipeline(
        make_column_transformer((StandardScaler(), FEATURES), (OneHotEncoder(), ["plan"])),
        LogisticRegression(max_iter=500),
    ).fit(X, y)
    lockgate.sklearn.save_model(model, path, input_example=X[:3],
                                pip_requirements=["scikit-learn", "pandas", "numpy"])


def start(cmd: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    # mlflow shells out to `uvicorn`, so the venv's bin directory must be on PATH.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"server {cmd} did not start; see {log}:\n{log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def body_for(frame: pd.DataFrame) -> bytes:
    return json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}).encode()


def measure_latency(urls: dict[str, str], body: bytes, n: int) -> dict[str, tuple[float, float]]:
    """p50/p95 ms per server; requests alternate between servers so load drift hits both alike."""
    times: dict[str, list[float]] = {name: [] for name in urls}
    clients = {name: httpx.Client(headers={"Content-Type": "application/json"}) for name in urls}
    try:
        for name, url in urls.items():
            for _ in range(20):
                clients[name].post(url, content=body).raise_for_status()
        for _ in range(n):
            for name, url in urls.items():
                start = time.perf_counter()
                clients[name].post(url, content=body).raise_for_status()
                times[name].append(time.perf_counter() - start)
    finally:
        for client in clients.values():
            client.close()
    out = {}
    for name, values in times.items():
        values.sort()
        out[name] = (statistics.median(values) * 1000, values[int(len(values) * 0.95)] * 1000)
    return out


def measure_throughput(url: str, body: bytes, rows_per_request: int, clients: int, seconds: float) -> float:
    counts = [0] * clients
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds

    def worker(i: int) -> None:
        with httpx.Client(headers={"Content-Type": "application/json"}, timeout=60) as client:
            while time.perf_counter() < stop_at:
                response = client.post(url, content=body)
                if response.status_code != 200:
                    errors.append(response.text[:200])
                    return
                counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"throughput run failed: {errors[0]}")
    return sum(counts) * rows_per_request / elapsed


def bench_servers(servers: dict[str, tuple[list[str], int]], workdir: Path,
                  args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Start every server, then measure them in alternating rounds; report per-metric medians.

    Alternating rounds keeps background load on a shared machine from favouring one server.
    """
    procs = {name: start(cmd, port, workdir / f"{name}.log") for name, (cmd, port) in servers.items()}
    one = body_for(make_data(1, seed=1))
    thousand = body_for(make_data(1000, seed=2))
    samples: dict[str, dict[str, list[float]]] = {n: {"p50_ms": [], "p95_ms": [], "rows_per_s": []}
                                                  for n in servers}
    urls = {name: f"http://127.0.0.1:{port}/invocations" for name, (_, port) in servers.items()}
    try:
        for round_no in range(args.rounds):
            latency = measure_latency(urls, one, args.latency_requests)
            order = list(servers) if round_no % 2 == 0 else list(reversed(servers))
            for name in order:
                p50, p95 = latency[name]
                rps = measure_throughput(urls[name], thousand, 1000, args.clients, args.seconds)
                for key, value in (("p50_ms", p50), ("p95_ms", p95), ("rows_per_s", rps)):
                    samples[name][key].append(value)
                print(f"  round {round_no + 1} {name:<9} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  "
                      f"{rps:>9,.0f} rows/s", flush=True)
    finally:
        for proc in procs.values():
            stop(proc)
    return {n: {k: statistics.median(v) for k, v in m.items()} for n, m in samples.items()}


_BATCH_CHILD = """
import json, resource, sys, time
from lockgate.models.pyfunc import load_model
from lockgate.serving.batch import predict_batch
model = load_model(sys.argv[1])
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
r = predict_batch(model, sys.argv[2], sys.argv[3], chunk_size=int(sys.argv[4]), progress=False)
print(json.dumps({"rows": r.rows, "seconds": r.seconds, "rss_after_load_mb": loaded,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_batch(model_dir: Path, workdir: Path, rows: int, chunk_size: int) -> dict[str, float]:
    source = workdir / "batch_in.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not source.exists():
        schema = pa.Table.from_pandas(make_data(10), preserve_index=False).schema
        with pq.ParquetWriter(source, schema) as writer:
            for start in range(0, rows, 200_000):
                writer.write_table(pa.Table.from_pandas(make_data(min(200_000, rows - start), seed=start),
                                                        preserve_index=False))
    size_mb = source.stat().st_size / 2**20
    out = subprocess.run([sys.executable, "-c", _BATCH_CHILD, str(model_dir), str(source),
                          str(workdir / "batch_out.parquet"), str(chunk_size)],
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["input_mb"] = size_mb
    result["rows_per_s"] = result["rows"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="throughput run length per server")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--latency-requests", type=int, default=300)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for the batch benchmark")
    parser.add_argument("--chunk-size", type=int, nargs="+", default=[100_000, 20_000])
    parser.add_argument("--rounds", type=int, default=3, help="alternating measurement rounds")
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="lockgate-serving-bench-"))
    model_dir = workdir / "model"
    save_model(model_dir)
    bindir = Path(sys.executable).parent
    port = _free_port()
    launcher = ("import sys; from lockgate.cli.models import models_app; "
                "models_app(sys.argv[1:])")
    servers = {"lockgate": ([sys.executable, "-c", launcher,
                             "serve", "-m", str(model_dir), "--port", str(port)], port)}
    if not args.skip_mlflow:
        port = _free_port()
        mlflow_cli = shutil.which("mlflow", path=str(bindir)) or "mlflow"
        servers["mlflow"] = ([mlflow_cli, "models", "serve", "-m", str(model_dir), "-p", str(port),
                              "--env-manager", "local", "-w", "1"], port)
    results = bench_servers(servers, workdir, args)

    print(f"\n/invocations, one uvicorn worker each, {os.cpu_count()} CPUs, median of "
          f"{args.rounds} alternating rounds, load average {os.getloadavg()[0]:.1f}")
    print(f"{'server':<10}{'p50 1 row (ms)':>16}{'p95 1 row (ms)':>16}{'rows/s (8 x 1000-row)':>24}")
    for name, r in results.items():
        print(f"{name:<10}{r['p50_ms']:>16.2f}{r['p95_ms']:>16.2f}{r['rows_per_s']:>24,.0f}")
    if "mlflow" in results:
        lg, ml = results["lockgate"], results["mlflow"]
        print(f"lockgate/mlflow: throughput x{lg['rows_per_s'] / ml['rows_per_s']:.2f}, "
              f"p50 latency x{lg['p50_ms'] / ml['p50_ms']:.2f}")

    print()
    for chunk in args.chunk_size:
        batch = bench_batch(model_dir, workdir, args.rows, chunk)
        print(f"batch predict: {batch['rows']:,} rows from Parquet ({batch['input_mb']:.0f} MiB) in "
              f"{batch['seconds']:.1f}s = {batch['rows_per_s']:,.0f} rows/s, chunk {chunk:,}: "
              f"peak RSS {batch['peak_rss_mb']:.0f} MiB ({batch['rss_after_load_mb']:.0f} MiB after "
              f"imports and model load)", flush=True)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
