"""Bulk metric writes through ``lockgate server``: tracking_bench's w2a and w6, old tree vs new.

Run by hand (not a test)::

    python bench/bulk_write_bench.py --backend postgres --src old=/work/main/core --src new=core --rounds 3

Each round starts, for every ``--src`` in turn (alternating, so both see the same machine),
``lockgate server`` with that tree first on ``PYTHONPATH`` on a fresh database, then runs
tracking_bench's two bulk workloads over keep-alive connections: **w2a** (one run, 5 keys x
``--steps`` steps in ``runs/log-batch`` calls of 1,000 points, the exact bodies of
tracking_bench) and **w6** (tracking_bench's own ``w6_concurrency``: 8 threads, each its own
run, ``runs/log-batch`` calls of 100 points). Prints one line per run with the load average,
and at the end the median and best per tree, with the server process' CPU time per 1,000
points (read from /proc), the figure that carries over from a loaded machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from tracking_server_bench import DEFAULT_BENCH, _drop_db, _fresh_db, _loadavg, _port


def _load_tracking_bench(path: Path):
    spec = importlib.util.spec_from_file_location("tracking_bench", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _start(src: Path, uri: str, tmp: Path):
    import subprocess

    import httpx

    port = _port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp / f"server-{port}.log").open("wb")
    env = {**os.environ, "PYTHONPATH": str(src), "LOCKGATE_HOME": str(tmp / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockgate.cli.server", "--port", str(port), "--backend-store-uri", uri,
         "--artifacts-destination", str(tmp / f"artifacts-{port}"), "--no-access-log"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env, cwd=tmp,
    )
    for _ in range(1500):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    raise SystemExit((tmp / f"server-{port}.log").read_text())


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the server process has used: unlike throughput, it hardly
    depends on how busy the shared machine is."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _w2a(tb, url: str, exp_id: str, steps: int) -> tuple[float, float]:
    """Points/s and p50 ms per 1,000-point call, with tracking_bench's bodies."""
    c = tb.Client(url)
    run_id = c.create_run(exp_id, run_name="w2a")["run_id"]
    ts, buf, lat = tb.now_ms(), [], []
    t0 = time.perf_counter()
    for step in range(steps):
        for k_i in range(5):
            buf.append({"key": f"m{k_i}", "value": (step % 997) * 0.001 + k_i, "timestamp": ts + step, "step": step})
            if len(buf) == 1000:
                lat.append(c.timed_post("/runs/log-batch", {"run_id": run_id, "metrics": buf})[1])
                buf = []
    wall = time.perf_counter() - t0
    return steps * 5 / wall, statistics.median(lat) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    ap.add_argument("--src", action="append", required=True, help="label=path of a tree's core/ folder")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20_000, help="w2a steps (5 points each)")
    ap.add_argument("--scale", type=float, default=0.2, help="tracking_bench's scale for w6 (0.2: 40 calls a thread)")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    args = ap.parse_args()
    tb = _load_tracking_bench(args.bench)
    tb.Client.conn_mode = "keepalive"
    trees = [(label, Path(path).resolve()) for label, path in (s.split("=", 1) for s in args.src)]
    results: dict[str, dict[str, list[float]]] = {
        label: {"w2a": [], "w6": [], "w2a_cpu": [], "w6_cpu": []} for label, _ in trees}
    with tempfile.TemporaryDirectory(prefix="bulk-write-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for round_no in range(args.rounds):
            for label, src in trees:
                uri = _fresh_db(args.backend, args.pg, tmp, f"bulkwrite_{label}_{round_no}")
                proc, url = _start(src, uri, tmp)
                try:
                    c = tb.Client(url)
                    exp_id = c.create_experiment(f"bulk-{label}-{round_no}-{time.time_ns()}")
                    _w2a(tb, url, exp_id, 400)  # warm-up: imports, prepared statements
                    load = _loadavg()
                    cpu0 = _cpu_s(proc.pid)
                    w2a, p50 = _w2a(tb, url, exp_id, args.steps)
                    cpu1 = _cpu_s(proc.pid)
                    w6 = tb.w6_concurrency(url, f"bulk-{label}", args.scale, exp_id)
                    cpu2 = _cpu_s(proc.pid)
                    # Server CPU per 1,000 points (w6's run creation is in it, negligibly).
                    w2a_cpu = (cpu1 - cpu0) * 1e6 / (args.steps * 5)
                    w6_cpu = (cpu2 - cpu1) * 1e6 / w6["points_ok"]
                    results[label]["w2a_cpu"].append(w2a_cpu)
                    results[label]["w6_cpu"].append(w6_cpu)
                    if w6["errors"]:
                        raise SystemExit(f"{label}: w6 errors {w6['error_samples']}")
                    results[label]["w2a"].append(w2a)
                    results[label]["w6"].append(w6["points_per_s"])
                    print(f"round {round_no} {label:>6}: w2a {w2a:9,.0f} points/s (p50 {p50:5.1f} ms/call)  "
                          f"w6 {w6['points_per_s']:9,.0f} points/s (p50 {w6['p50_ms']:5.1f} ms)  server CPU per 1,000 "
                          f"points: w2a {w2a_cpu:4.1f} ms, w6 {w6_cpu:4.1f} ms  "
                          f"load {load} -> {_loadavg()}", flush=True)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                    _drop_db(uri, args.pg)
    for label, figures in results.items():
        print(f"{label:>6}: w2a median {statistics.median(figures['w2a']):,.0f} best {max(figures['w2a']):,.0f}; "
              f"w6 median {statistics.median(figures['w6']):,.0f} best {max(figures['w6']):,.0f} points/s; "
              f"server CPU per 1,000 points median: w2a {statistics.median(figures['w2a_cpu']):.1f} ms, "
              f"w6 {statistics.median(figures['w6_cpu']):.1f} ms")


if __name__ == "__main__":
    main()
