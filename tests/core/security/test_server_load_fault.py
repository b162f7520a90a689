"""Load and faults: 8 writer processes through MLflow's REST API against 2 server workers, one
worker and then the whole server killed with SIGKILL mid-load and restarted, and afterwards
every write the server acknowledged is read back (SQLite and PostgreSQL). Bounded: the writers
stop after a fixed number of acknowledged writes per phase, not after a time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from limits_support import ProcessServer

API = "/api/2.0/mlflow"
WRITERS = 8
PER_PHASE = 8  # acknowledged writes each writer must see in each phase before the next fault

pytestmark = pytest.mark.slow

WRITER = r'''
import json, os, sys, time
import httpx

url, run_id, acks_path, stop_path = sys.argv[1:5]
statuses = {}
step = 0
with open(acks_path, "a", buffering=1) as acks, httpx.Client(base_url=url, timeout=20) as client:
    while not os.path.exists(stop_path):
        kind = "tag" if step % 5 == 4 else "metric"
        if kind == "metric":
            path, body = "/api/2.0/mlflow/runs/log-metric", {
                "run_id": run_id, "key": "m", "value": float(step), "timestamp": 1000 + step, "step": step}
        else:
            path, body = "/api/2.0/mlflow/runs/set-tag", {"run_id": run_id, "key": f"t{step}", "value": str(step)}
        try:
            response = client.post(path, json=body)
        except httpx.HTTPError:
            time.sleep(0.05)  # the server is down or restarting: try the same write again
            continue
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code == 200:
            acks.write(json.dumps([kind, step]) + "\n")
            step += 1
        else:
            time.sleep(0.05)
with open(acks_path + ".status", "w") as out:
    json.dump(statuses, out)
'''


def _acked(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    complete = path.read_text().rpartition("\n")[0]  # a line still being written is not counted yet
    return [tuple(json.loads(line)) for line in complete.splitlines() if line.strip()]  # type: ignore[misc]


def _wait_for_progress(ack_files: list[Path], procs: list[subprocess.Popen[bytes]], *, beyond: list[int]) -> list[int]:
    """Block until every writer has PER_PHASE more acknowledged writes than ``beyond``."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        counts = [len(_acked(path)) for path in ack_files]
        if all(c >= b + PER_PHASE for c, b in zip(counts, beyond)):
            return counts
        for proc in procs:
            assert proc.poll() is None, f"a writer exited early with {proc.returncode}"
        time.sleep(0.1)
    pytest.fail(f"writers made no progress: {[len(_acked(p)) for p in ack_files]} after {beyond}")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_acknowledged_writes_survive_worker_and_server_kills(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    uri = request.getfixturevalue("sqlite_uri" if backend == "sqlite" else "postgres_uri")
    args = ("--backend-store-uri", uri, "--artifacts-destination", str(tmp_path / "artifacts"),
            "--workers", "2", "--no-access-log")
    server = ProcessServer(*args).start()
    writer_script = tmp_path / "writer.py"
    writer_script.write_text(WRITER)
    stop = tmp_path / "stop"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            exp = client.post(f"{API}/experiments/create", json={"name": "load"}).json()["experiment_id"]
            runs = [client.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
                    for _ in range(WRITERS)]
        ack_files = [tmp_path / f"acks-{i}.jsonl" for i in range(WRITERS)]
        procs = [subprocess.Popen([sys.executable, str(writer_script), server.url, run, str(acks), str(stop)])
                 for run, acks in zip(runs, ack_files)]
        counts = _wait_for_progress(ack_files, procs, beyond=[0] * WRITERS)

        workers = server.worker_pids()
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGKILL)
        counts = _wait_for_progress(ack_files, procs, beyond=counts)

        server.kill_all()
        server = ProcessServer(*args, port=server.port).start()
        counts = _wait_for_progress(ack_files, procs, beyond=counts)
    finally:
        stop.touch()
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for run, acks in zip(runs, ack_files):
                acked = _acked(acks)
                history = client.get(f"{API}/metrics/get-history", params={"run_id": run, "metric_key": "m"}).json()
                steps = {int(m["step"]) for m in history.get("metrics", [])}
                tags = {t["key"] for t in client.get(f"{API}/runs/get", params={"run_id": run})
                        .json()["run"]["data"]["tags"]}
                missing = [(kind, step) for kind, step in acked
                           if (kind == "metric" and step not in steps) or (kind == "tag" and f"t{step}" not in tags)]
                assert missing == [], f"run {run}: acknowledged but not stored: {missing[:10]}"
                assert len(acked) >= 3 * PER_PHASE
        for acks in ack_files:
            statuses = json.loads(Path(str(acks) + ".status").read_text())
            assert set(statuses) <= {"200", "503"}, statuses  # never a 500, never bad input
    finally:
        server.stop()
