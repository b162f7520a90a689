"""Scale-out: ``lockgate server`` with 1, 2 and 4 workers, and two servers behind a load
balancer, all on one PostgreSQL database, driven by concurrent training-job clients.

Run by hand (not a test):

    python bench/scaleout_bench.py                        # fresh database lockgate_scaleout
    python bench/scaleout_bench.py --configs w1,lb2 --seconds 10
    python bench/scaleout_bench.py --mlflow                # the same against `mlflow server`

Each configuration gets two loads over MLflow's REST API (``/api/2.0/mlflow``), every client
on its own run with its own keep-alive connection (as the MLflow SDK):

* saturation: ``--clients`` closed-loop clients, each sending ``runs/log-batch`` calls of 10
  metrics (one step of 10 keys) as fast as answers come, for ``--seconds`` -> calls/s,
  points/s, p50/p95 ms, errors;
* paced: ``--jobs`` training jobs (default 100), each logging one step of 10 metrics every
  second for ``--seconds`` -> p50/p99 ms, errors, late calls (a call that took > 1 s).

The server's CPU time per call (all its processes, from /proc) is printed too: unlike the
throughput it hardly depends on how loaded the machine is, so it is the figure to size from.

Then every run's history is read back through the same server: the points stored must equal the
points acknowledged (a 200 answer), per run and key; anything else is reported as lost.

``lb2`` is two single-worker servers behind the TCP round-robin balancer below (asyncio,
loopback; each client connection sticks to one server, as with any layer-4 balancer).
The clients share the machine with the servers: on a small machine the figures are bounded
by the CPU the clients leave over (note the load average printed with each line).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

API = "/api/2.0/mlflow"
KEYS = [f"m{k}" for k in range(10)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not become ready in {timeout} s")


_SERVER_GROUPS: list[int] = []


def server_cpu_s() -> float:
    """CPU seconds used so far by every running server process (all workers), from /proc."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in _SERVER_GROUPS:  # field 5 of stat: the process group
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / tick


MLFLOW = False  # --mlflow: the same configurations with `mlflow server`


@contextmanager
def server(db_url: str, workers: int) -> Iterator[str]:
    """A ``lockgate server`` (or ``mlflow server``) process tree on a free port; yields its URL."""
    port = _free_port()
    artifacts = f"/tmp/lockgate-scaleout/artifacts-{port}"
    if MLFLOW:
        cmd = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--backend-store-uri", db_url, "--artifacts-destination", artifacts]
    else:
        cmd = [sys.executable, "-m", "lockgate.cli", "server", "--backend-store-uri", db_url, "--port", str(port),
               "--workers", str(workers), "--no-access-log", "--log-level", "warning",
               "--artifacts-destination", artifacts]
    proc = subprocess.Popen(cmd, start_new_session=True)
    _SERVER_GROUPS.append(proc.pid)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # mlflow server under load can ignore SIGTERM for minutes
            os.killpg(proc.pid, 9)
            proc.wait(timeout=30)
        _SERVER_GROUPS.remove(proc.pid)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@contextmanager
def balancer(backends: list[str]) -> Iterator[str]:
    """A loopback TCP round-robin balancer in a thread; yields its URL."""
    port = _free_port()
    targets = [(b.split(":")[1].lstrip("/"), int(b.rsplit(":", 1)[1])) for b in backends]
    turn = [0]
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stopping: list[asyncio.Future[None]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, bport = targets[turn[0] % len(targets)]
        turn[0] += 1
        up_reader, up_writer = await asyncio.open_connection(host, bport)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def serve() -> None:
        srv = await asyncio.start_server(handle, "127.0.0.1", port)
        stopping.append(loop.create_future())
        started.set()
        async with srv:
            await stopping[0]

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stopping[0].set_result, None)
        thread.join(10)


class Job:
    """One training job: its run, the steps the server acknowledged, its latencies and errors."""

    def __init__(self, url: str, exp_id: str) -> None:
        self.http = httpx.Client(base_url=url + API, timeout=60)
        self.run_id = self._post("/runs/create", {"experiment_id": exp_id}).json()["run"]["info"]["run_id"]
        self.acked = 0
        self.step = 0
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(path, json=body)

    def log_step(self) -> None:
        step, self.step = self.step, self.step + 1
        metrics = [{"key": k, "value": step * 0.5 + i, "timestamp": int(time.time() * 1000), "step": step}
                   for i, k in enumerate(KEYS)]
        start = time.perf_counter()
        try:
            response = self._post("/runs/log-batch", {"run_id": self.run_id, "metrics": metrics})
        except httpx.HTTPError as exc:
            self.errors.append(type(exc).__name__)
            return
        self.latencies.append((time.perf_counter() - start) * 1000)
        if response.status_code == 200:
            self.acked += 1
        else:
            self.errors.append(f"{response.status_code} {response.text[:120]}")

    def stored(self) -> dict[str, int]:
        counts = {}
        for key in KEYS:
            body = self.http.get("/metrics/get-history", params={"run_id": self.run_id, "metric_key": key}).json()
            counts[key] = len(body.get("metrics", []))
        return counts


def _run_jobs(jobs: list[Job], seconds: float, *, paced: bool) -> float:
    stop = time.monotonic() + seconds

    def work(job: Job) -> None:
        next_at = time.monotonic()
        while time.monotonic() < stop:
            job.log_step()
            if paced:
                next_at += 1.0
                time.sleep(max(0.0, next_at - time.monotonic()))

    threads = [threading.Thread(target=work, args=(j,)) for j in jobs]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _load(url: str, exp_id: str, clients: int, seconds: float, *, paced: bool) -> dict[str, Any]:
    jobs = [Job(url, exp_id) for _ in range(clients)]
    cpu = server_cpu_s()
    wall = _run_jobs(jobs, seconds, paced=paced)
    cpu = server_cpu_s() - cpu
    latencies = [ms for j in jobs for ms in j.latencies]
    acked = sum(j.acked for j in jobs)
    lost = 0
    for job in jobs:
        lost += sum(job.acked - n for n in job.stored().values() if n < job.acked)
        job.http.close()
    errors = [e for j in jobs for e in j.errors]
    return {
        "clients": clients, "calls_per_s": round(acked / wall, 1), "points_per_s": round(acked * 10 / wall),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": _pct(latencies, 0.95), "p99_ms": _pct(latencies, 0.99),
        "late_calls": sum(1 for ms in latencies if ms > 1000), "errors": len(errors),
        "server_cpu_ms_per_call": round(cpu * 1000 / max(1, len(latencies)), 1),
        "error_samples": sorted(set(errors))[:3], "acked_calls": acked, "lost_points": lost,
        "loadavg": open("/proc/loadavg").read().split()[0],
    }


@contextmanager
def deployment(config: str, db_url: str) -> Iterator[str]:
    if config.startswith("w"):
        with server(db_url, int(config[1:])) as url:
            yield url
    elif config == "lb2":
        with server(db_url, 1) as a, server(db_url, 1) as b, balancer([a, b]) as url:
            yield url
    else:
        raise SystemExit(f"unknown configuration {config!r} (w1, w2, w4, lb2)")


def _fresh_database(admin: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="w1,w2,w4,lb2")
    ap.add_argument("--clients", type=int, default=16, help="closed-loop clients for the saturation load")
    ap.add_argument("--jobs", type=int, default=100, help="training jobs for the paced load (1 call/s each)")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--db-name", default="lockgate_scaleout")
    ap.add_argument("--mlflow", action="store_true", help="drive `mlflow server` instead (database <db-name>_mlflow)")
    args = ap.parse_args()
    global MLFLOW
    MLFLOW = args.mlflow
    if args.mlflow:
        args.db_name += "_mlflow"

    db_url = _fresh_database(args.pg_admin, args.db_name)
    results = []
    for config in args.configs.split(","):
        with deployment(config, db_url) as url:
            exp_id = httpx.post(url + API + "/experiments/create", json={"name": f"{config}-{time.time()}"},
                                timeout=60).json()["experiment_id"]
            Job(url, exp_id).log_step()  # warm every worker's imports a little
            for load, clients, paced in (("saturation", args.clients, False), ("paced", args.jobs, True)):
                row = {"server": "mlflow" if MLFLOW else "lockgate", "config": config, "load": load, **_load(url, exp_id, clients, args.seconds, paced=paced)}
                results.append(row)
                print(json.dumps(row), flush=True)
    cols = ["server", "config", "load", "clients", "calls_per_s", "points_per_s", "p50_ms", "p95_ms", "p99_ms", "late_calls",
            "errors", "acked_calls", "lost_points", "server_cpu_ms_per_call", "loadavg"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for row in results:
        print("| " + " | ".join(str(row[c]) for c in cols) + " |")


if __name__ == "__main__":
    main()
