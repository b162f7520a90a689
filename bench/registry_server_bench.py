"""The shared bench's w5 registry calls against a real ``lockgate server``, old and new tree
alternating, long enough for a median on a busy machine (run by hand, not a test)::

    python bench/registry_server_bench.py --old /work/main/core --backend postgres --rounds 3 --seconds 20

Each round starts one server per tree (``PYTHONPATH`` = the tree's ``core``) on a fresh
database and drives it over one keep-alive connection with w5's loop body: model-versions/create,
registered-models/alias (set), alias (GET), model-versions/transition-stage,
get-latest-versions. Prints, per tree and call, the median latency over all rounds, the
calls per second of the whole loop, and the server's CPU time per loop (user + system, which a
loaded machine inflates far less than wall time), with the load average of every round.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from tracking_server_bench import _drop_db, _fresh_db, _loadavg, _port

CALLS = ("create", "set_alias", "get_alias", "transition", "latest")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(core: str, uri: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockgate.cli.server", "--port", str(port), "--backend-store-uri", uri,
         "--artifacts-destination", str(tmp / "artifacts"), "--no-access-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "PYTHONPATH": core, "LOCKGATE_HOME": str(tmp / "home")},
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"server on {core} did not start")


def _drive(url: str, pid: int, seconds: float) -> tuple[dict[str, list[float]], int, float]:
    """w5's calls in a loop for ``seconds``: latencies per call, loops done, server CPU s."""
    c = httpx.Client(base_url=url + "/api/2.0/mlflow", timeout=60)
    exp = c.post("/experiments/create", json={"name": f"e-{uuid.uuid4().hex[:8]}"}).json()["experiment_id"]
    runs = [c.post("/runs/create", json={"experiment_id": exp}).json()["run"]["info"] for _ in range(20)]
    name = f"m-{uuid.uuid4().hex[:8]}"
    c.post("/registered-models/create", json={"name": name}).raise_for_status()
    lat: dict[str, list[float]] = {k: [] for k in CALLS}

    def timed(call: str, method: str, path: str, **kwargs: object) -> httpx.Response:
        began = time.perf_counter()
        response = c.request(method, path, **kwargs)  # type: ignore[arg-type]
        lat[call].append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        return response

    cpu0, end, i = _cpu_s(pid), time.time() + seconds, 0
    while time.time() < end:
        run = runs[i % len(runs)]
        i += 1
        v = str(i)
        timed("create", "POST", "/model-versions/create", json={
            "name": name, "source": run["artifact_uri"] + "/model", "run_id": run["run_id"]})
        timed("set_alias", "POST", "/registered-models/alias", json={"name": name, "alias": "champion", "version": v})
        got = timed("get_alias", "GET", "/registered-models/alias", params={"name": name, "alias": "champion"})
        assert got.json()["model_version"]["version"] == v
        timed("transition", "POST", "/model-versions/transition-stage", json={
            "name": name, "version": v, "stage": "Staging" if i % 2 else "Production",
            "archive_existing_versions": False})
        timed("latest", "POST", "/registered-models/get-latest-versions",
              json={"name": name, "stages": ["Staging", "Production"]})
    return lat, i, _cpu_s(pid) - cpu0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, help="the old tree's core directory (PYTHONPATH)")
    ap.add_argument("--new", default=str(ROOT / "core"), help="the new tree's core directory")
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    trees = {"old": args.old, "new": args.new}
    lat: dict[str, dict[str, list[float]]] = {t: {k: [] for k in CALLS} for t in trees}
    loops = {t: 0 for t in trees}
    wall = {t: 0.0 for t in trees}
    cpu = {t: 0.0 for t in trees}
    for r in range(args.rounds):
        for tree, core in trees.items():
            with tempfile.TemporaryDirectory(prefix="rsb-") as tmp_name:
                tmp = Path(tmp_name)
                uri = _fresh_db(args.backend, args.pg, tmp, f"registry2_{tree}")
                proc, url = _start(core, uri, tmp)
                try:
                    before = _loadavg()
                    got, n, used = _drive(url, proc.pid, args.seconds)
                finally:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(30)
                    if args.backend == "postgres":
                        _drop_db(uri, args.pg)
                for k in CALLS:
                    lat[tree][k] += got[k]
                loops[tree] += n
                wall[tree] += sum(sum(v) for v in got.values()) / 1000
                cpu[tree] += used
                print(f"round {r + 1} {tree}: {n} loops, load {before} -> {_loadavg()}", file=sys.stderr, flush=True)
    print(f"| {args.backend}, p50 ms | " + " | ".join(trees) + " |")
    print("|---|" + "---:|" * len(trees))
    for k in CALLS:
        print(f"| {k} | " + " | ".join(f"{statistics.median(lat[t][k]):.2f}" for t in trees) + " |")
    print("| calls/s (whole loop) | " + " | ".join(f"{5 * loops[t] / wall[t]:.1f}" for t in trees) + " |")
    print("| server CPU ms per loop (5 calls) | " + " | ".join(f"{1000 * cpu[t] / loops[t]:.2f}" for t in trees) + " |")


if __name__ == "__main__":
    main()
