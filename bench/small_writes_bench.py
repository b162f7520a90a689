"""Per-request cost of the small MLflow writes against a real ``lockgate server``.

Run by hand (not a test)::

    nice -n 10 python bench/small_writes_bench.py --backend postgres --tree /work/main/core --tree core

For each ``--tree`` (a ``core`` directory put first on the server's PYTHONPATH), alternating
round by round, it starts ``lockgate server`` on a fresh database and times, with python
``requests`` as tracking_bench.py does, ``--calls`` each of: ``runs/create``, ``runs/log-batch``
with 10 params + 5 tags + 2 metrics, a single ``runs/log-metric``, ``runs/log-parameter`` and
``runs/set-tag``, once with one keep-alive connection and once with ``Connection: close``.
Prints p50 ms and calls/s per tree, workload and connection mode, with the load average.
``--profile DIR`` records each server with ``py-spy`` (``--py-spy PATH``) into DIR.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests

API = "/api/2.0/mlflow"
CPU: dict[str, float] = {}  # the server's CPU seconds per workload of the last ``_workloads``
PG = "postgresql://postgres@127.0.0.1:5432"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _fresh_db(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
    import psycopg

    name = f"reqpath_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def _drop_db(uri: str) -> None:
    if not uri.startswith("postgresql"):
        return
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{uri.rsplit("/", 1)[1]}" WITH (FORCE)')


def _start(tree: str, uri: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "LOCKGATE_HOME": str(tmp / "home"), "PYTHONPATH": tree,
           "LOCKGATE_WEBHOOK_DELIVERY": os.environ.get("LOCKGATE_WEBHOOK_DELIVERY", "on")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockgate.cli.server", "--port", str(port), "--backend-store-uri", uri,
         "--artifacts-destination", str(tmp / f"artifacts-{port}"), "--no-access-log"],
        stdout=(tmp / f"server-{port}.log").open("wb"), stderr=subprocess.STDOUT, env=env,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server on {tree} did not start: {(tmp / f'server-{port}.log').read_text()[-2000:]}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _session(close: bool) -> requests.Session:
    session = requests.Session()
    if close:
        session.headers["Connection"] = "close"
    return session


def _post(session: requests.Session, url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = session.post(url + API + path, json=body, timeout=60)
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else {}


def _workloads(session: requests.Session, url: str, calls: int, pid: int = 0) -> dict[str, list[float]]:
    exp = _post(session, url, "/experiments/create", {"name": f"small-{uuid.uuid4().hex[:8]}"})["experiment_id"]
    timings: dict[str, list[float]] = {name: [] for name in ("create", "batch17", "metric", "param", "tag")}
    cpu: dict[str, float] = {}
    mark = [_cpu_seconds(pid) if pid else 0.0]

    def account(name: str) -> None:
        if pid:
            now = _cpu_seconds(pid)
            cpu[name] = now - mark[0]
            mark[0] = now

    run_ids = []
    for i in range(calls):
        start = time.perf_counter()
        run = _post(session, url, "/runs/create", {"experiment_id": exp, "start_time": int(time.time() * 1000),
                                                  "run_name": f"run-{i}"})
        timings["create"].append(time.perf_counter() - start)
        run_ids.append(run["run"]["info"]["run_id"])
    account("create")
    ts = int(time.time() * 1000)
    for i, run_id in enumerate(run_ids):
        body = {
            "run_id": run_id,
            "params": [{"key": "lr", "value": "0.01"}] + [{"key": f"p{j}", "value": f"v{i + j}"} for j in range(1, 10)],
            "tags": [{"key": f"t{j}", "value": f"tag-{i * j % 13}"} for j in range(5)],
            "metrics": [{"key": "acc", "value": 0.5, "timestamp": ts, "step": 0},
                        {"key": "loss", "value": 0.5, "timestamp": ts, "step": 0}],
        }
        start = time.perf_counter()
        _post(session, url, "/runs/log-batch", body)
        timings["batch17"].append(time.perf_counter() - start)
    account("batch17")
    target = run_ids[0]
    for i in range(calls):
        start = time.perf_counter()
        _post(session, url, "/runs/log-metric", {"run_id": target, "key": "single", "value": i * 0.5,
                                                 "timestamp": ts + i, "step": i})
        timings["metric"].append(time.perf_counter() - start)
    account("metric")
    for i in range(calls):
        start = time.perf_counter()
        _post(session, url, "/runs/log-parameter", {"run_id": target, "key": f"single-{i}", "value": str(i)})
        timings["param"].append(time.perf_counter() - start)
    account("param")
    for i in range(calls):
        start = time.perf_counter()
        _post(session, url, "/runs/set-tag", {"run_id": target, "key": f"tag-{i % 7}", "value": str(i)})
        timings["tag"].append(time.perf_counter() - start)
    account("tag")
    CPU.update(cpu)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--tree", action="append", required=True, help="a core/ directory; give two to compare")
    parser.add_argument("--conn", action="append", choices=["keepalive", "close"])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="record each server with py-spy into this directory")
    parser.add_argument("--py-spy", default="py-spy")
    parser.add_argument("--gil", action="store_true", help="py-spy samples only the thread holding the GIL (CPU)")
    args = parser.parse_args()
    conns = args.conn or ["keepalive", "close"]
    results: dict[tuple[str, str, str], list[float]] = {}
    cpu_ms: dict[tuple[str, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="reqpath-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for rnd in range(args.rounds):
            for tree in args.tree:
                uri = _fresh_db(args.backend, tmp)
                proc, url = _start(str(Path(tree).resolve()), uri, tmp)
                spy = None
                if args.profile:
                    args.profile.mkdir(parents=True, exist_ok=True)
                    out = args.profile / f"{Path(tree).resolve().parent.name}-{args.backend}-{rnd}.txt"
                    spy = subprocess.Popen([args.py_spy, "record", "-r", "500", "-f", "raw", "-o", str(out),
                                            "-p", str(proc.pid), *(["--gil"] if args.gil else [])], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
                    time.sleep(1)
                try:
                    _workloads(_session(False), url, 20)  # warm-up: imports, pools, caches
                    for conn in conns:
                        load = _load()
                        timings = _workloads(_session(conn == "close"), url, args.calls, proc.pid)
                        for name, values in timings.items():
                            results.setdefault((tree, conn, name), []).extend(values)
                            cpu_ms.setdefault((tree, conn, name), []).append(CPU[name] * 1000 / len(values))
                            print(f"round {rnd} {tree} {args.backend} {conn} {name}: p50 "
                                  f"{statistics.median(values) * 1000:.2f} ms, "
                                  f"{len(values) / sum(values):.1f} calls/s, server CPU {CPU[name] * 1000 / len(values):.2f} ms/call "
                                  f"(load {load})", flush=True)
                finally:
                    if spy is not None:
                        spy.send_signal(2)
                        spy.wait(30)
                    proc.terminate()
                    proc.wait(30)
                    _drop_db(uri)
    print(f"\nsummary, {args.backend}, {args.rounds} rounds x {args.calls} calls (median of all calls; "
          "calls/s = calls / summed time, best server CPU per call), load now", _load())
    for conn in conns:
        for name in ("create", "batch17", "metric", "param", "tag"):
            cells = []
            for tree in args.tree:
                values = results[(tree, conn, name)]
                cells.append(f"{tree}: {statistics.median(values) * 1000:.2f} ms, {len(values) / sum(values):.0f}/s, "
                             f"CPU {min(cpu_ms[(tree, conn, name)]):.2f} ms")
            print(f"  {conn:9} {name:8} " + " | ".join(cells))


if __name__ == "__main__":
    main()
