"""How fast the shared tracking bench's own client can go: the ceiling any server can show.

Run by hand (not a test)::

    python bench/client_floor_bench.py --mlflow-results /tmp/tracking-server-bench

``/work/shared/bench/tracking_bench.py`` drives a server with Python ``requests``. This bench
imports that very client, points it at a server in another process that answers every
request at once with ``{}`` (no parsing beyond the HTTP framing, no storage), and sends the
request shapes of each throughput workload: a small POST (``log-metric``, model versions,
registry moves), the ``runs/create`` + 17-value ``log-batch`` pair of w1, the 1,000-point
``log-batch`` of w2a and w6's eight threads of 100-point batches. The rates it reaches are
the most any server could score on this machine with this client, since the server's own
time only adds to the client's.

With ``--mlflow-results DIR`` (the ``--out`` folder of ``bench/tracking_server_bench.py``,
holding ``mlflow-<backend>-<conn>.json``) it also prints, per workload, MLflow's figure from
that sitting and the highest ratio over MLflow that a server answering in zero time would
reach (the client's CPU rate over MLflow's), and how many microseconds a server may spend per
request for 10x once the client's CPU time is taken out: where the ratio is below 10 or the
budget is gone, a 10x target on that workload cannot be met with this client.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BENCH = ROOT.parent / "shared" / "bench" / "tracking_bench.py"
_REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"


class _InstantReply(asyncio.Protocol):
    """Reads each HTTP/1.1 request's head and body, and answers ``{}`` right away."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.pending = b""

    def data_received(self, data: bytes) -> None:
        self.pending += data
        while (end := self.pending.find(b"\r\n\r\n")) >= 0:
            head = self.pending[:end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(self.pending) < end + 4 + length:
                return
            self.pending = self.pending[end + 4 + length:]
            if b"connection: close" in head:
                self.transport.write(_REPLY + b"Connection: close\r\n\r\n{}")
                self.transport.close()
                return
            self.transport.write(_REPLY + b"\r\n{}")


def serve(port: int) -> None:
    """Run the instant-reply server on 127.0.0.1:``port`` until killed."""

    async def forever() -> None:
        server = await asyncio.get_running_loop().create_server(_InstantReply, "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(forever())


def _load_bench(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("tracking_bench", path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bodies() -> dict[str, dict[str, Any]]:
    """Request bodies shaped like tracking_bench's (same keys, sizes and value types)."""
    ts = int(time.time() * 1000)
    run_id = "0" * 32
    return {
        "small": {"run_id": run_id, "key": "single", "value": 0.5, "timestamp": ts, "step": 1},
        "create": {"experiment_id": "1", "start_time": ts, "run_name": "run-1"},
        "batch17": {
            "run_id": run_id,
            "params": [{"key": "lr", "value": "0.01"}] + [{"key": f"p{j}", "value": f"v{j}"} for j in range(1, 10)],
            "tags": [{"key": f"t{j}", "value": f"tag-{j}"} for j in range(5)],
            "metrics": [{"key": "acc", "value": 0.5, "timestamp": ts, "step": 0},
                        {"key": "loss", "value": 0.5, "timestamp": ts, "step": 0}],
        },
        "batch1000": {"run_id": run_id, "metrics": [
            {"key": f"m{i % 5}", "value": (i % 997) * 0.001, "timestamp": ts + i, "step": i // 5} for i in range(1000)]},
    }


def _rate(calls: int, send: Any) -> tuple[float, float]:
    """Calls per wall second and per CPU second of this (client) process, of ``send()`` over
    ``calls`` calls after one warm-up call.

    The CPU rate hardly moves with other load on the machine: a sequential client can never
    go faster than it, whatever the server does.
    """
    send()
    began, began_cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        send()
    return calls / (time.perf_counter() - began), calls / (time.process_time() - began_cpu)


def _threaded_points(bench: ModuleType, url: str, threads: int, calls: int) -> tuple[float, float]:
    """w6's shape: ``threads`` clients, each ``calls`` log-batch calls of 100 points."""
    ts = int(time.time() * 1000)
    body = {"run_id": "0" * 32, "metrics": [
        {"key": f"c{k}", "value": float(s), "timestamp": ts + s, "step": s} for s in range(20) for k in range(5)]}
    barrier = threading.Barrier(threads + 1)

    def worker() -> None:
        client = bench.Client(url)
        barrier.wait()
        for _ in range(calls):
            client.post("/runs/log-batch", body)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    barrier.wait()
    began, began_cpu = time.perf_counter(), time.process_time()
    for thread in workers:
        thread.join()
    wall = time.perf_counter() - began
    return threads * calls * 100 / wall, threads * calls * 100 / (time.process_time() - began_cpu)


def measure(bench: ModuleType, url: str, conn: str, calls: int) -> dict[str, tuple[float, float]]:
    """The client's ceiling for each throughput workload, with ``conn`` connections: (per wall
    second, per client CPU second)."""
    bench.Client.conn_mode = conn
    client = bench.Client(url)
    bodies = _bodies()

    def post(body: str) -> Any:
        return lambda: client.post("/runs/log-metric", bodies[body])

    pair = _rate(calls // 2, lambda: (client.post("/runs/create", bodies["create"]),
                                      client.post("/runs/log-batch", bodies["batch17"])))
    wall, cpu = _rate(max(20, calls // 10), post("batch1000"))
    return {
        "runs_per_s": pair,
        "points_per_s": (wall * 1000, cpu * 1000),
        "calls_per_s": _rate(calls, post("small")),
        "gets_per_s": _rate(calls, lambda: client.get("/registered-models/alias", {"name": "m", "alias": "a"})),
        "threaded_points_per_s": _threaded_points(bench, url, 8, max(20, calls // 20)),
    }


# (label, key in measure(), path into MLflow's tracking_bench JSON, units of work per request)
ROWS: list[tuple[str, str, tuple[str, str], float]] = [
    ("w1 runs created (runs/s)", "runs_per_s", ("w1_create_runs", "runs_per_s"), 0.5),
    ("w2a log-batch metric points (points/s)", "points_per_s", ("w2a_log_batch_metrics", "points_per_s"), 1000),
    ("w2b single log-metric calls (calls/s)", "calls_per_s", ("w2b_log_metric_single", "calls_per_s"), 1),
    ("w5 model versions created (versions/s)", "calls_per_s", ("w5_registry", "model_versions_per_s"), 1),
    ("w5 registry ops (ops/s)", "calls_per_s", ("w5_registry", "ops_per_s"), 1),
    ("w6 8-thread log-batch (points/s)", "threaded_points_per_s", ("w6_concurrency", "points_per_s"), 0),
]


def _server_budget_us(mlflow_rate: float, client_cpu_rate: float, per_request: float) -> str:
    """Microseconds a server may spend per request for the workload to reach 10x MLflow's rate,
    once the client's own CPU time is taken out (sequential workloads only)."""
    if not per_request:
        return ""
    budget = (1 / (10 * mlflow_rate) - 1 / client_cpu_rate) * per_request * 1e6
    return f"{budget:,.0f}" if budget > 0 else f"none ({budget:,.0f})"


def _print_table(conn: str, floor: dict[str, tuple[float, float]], mlflow: dict[str, dict[str, Any]]) -> None:
    print(f"\n### client ceiling, --conn {conn} (load average {Path('/proc/loadavg').read_text().split()[:3]})\n")
    gets_wall, gets_cpu = floor["gets_per_s"]
    print(f"small GETs (registry reads): {gets_wall:.0f}/s per wall second, {gets_cpu:.0f}/s per client CPU second\n")
    header = ["workload", "ceiling (wall)", "ceiling (client CPU)"]
    for backend in mlflow:
        header += [f"MLflow {backend}", f"highest ratio, {backend}", f"server us/request for 10x, {backend}"]
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (len(header) - 1))
    for label, key, (section, field), per_request in ROWS:
        wall, cpu = floor[key]
        cells = [label, f"{wall:,.0f}", f"{cpu:,.0f}"]
        for result in mlflow.values():
            figure = result.get(section, {}).get(field)
            if figure:
                cells += [f"{figure:,.1f}", f"{cpu / figure:.1f}x", _server_budget_us(figure, cpu, per_request)]
            else:
                cells += ["", "", ""]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="the shared tracking_bench.py")
    parser.add_argument("--conn", action="append", choices=["close", "keepalive"])
    parser.add_argument("--calls", type=int, default=2000, help="small calls per measurement")
    parser.add_argument("--mlflow-results", type=Path, help="tracking_server_bench's --out folder")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    bench = _load_bench(args.bench)
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the instant-reply server did not start") from None
                time.sleep(0.02)
        for conn in args.conn or ["keepalive", "close"]:
            floor = measure(bench, url, conn, args.calls)
            mlflow: dict[str, dict[str, Any]] = {}
            for backend in ("sqlite", "postgres"):
                path = args.mlflow_results and args.mlflow_results / f"mlflow-{backend}-{conn}.json"
                if path and path.exists():
                    mlflow[backend] = json.loads(path.read_text())
            _print_table(conn, floor, mlflow)
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
