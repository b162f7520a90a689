"""Per-task cost of tracking an Airflow task on a Lockgate server over HTTP, and its HTTP requests.

In production (LocalExecutor, Celery, Kubernetes) every task instance runs in a fresh
process, so nothing the provider remembers in-process (connection, client, experiment id,
the DAG run's parent run) carries over from one task to the next. This bench reproduces
that: a ``lockgate server`` with auth on (SQLite, one worker), an Airflow connection with
a token, and for each task a new Python process that runs the listener's two hooks
(``on_task_instance_running`` / ``on_task_instance_success``, the same code a worker
runs around a task with ``[lockgate] auto_track = True``), timing them and counting the
HTTP requests they send. The process's own start (importing Airflow) is not counted: it is
paid by every task, tracked or not. Target: under 50 ms per task.

    python bench/airflow_server_overhead_bench.py [--dag-runs 3] [--tasks 10]

Run it in the Airflow environment (``.nox/tests-airflow/bin/python``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASK_SOURCE = r'''
import json, sys, time, types
import httpx

requests = []
_send = httpx.Client.send
def counting_send(self, request, **kwargs):
    requests.append(f"{request.method} {request.url.path}")
    return _send(self, request, **kwargs)
httpx.Client.send = counting_send

from lockgate_airflow import listeners  # imports Airflow: not timed, every task pays it

dag_id, run_id, task_id = sys.argv[1:4]
ti = types.SimpleNamespace(dag_id=dag_id, run_id=run_id, task_id=task_id, try_number=1, map_index=-1, task=None)
started = time.perf_counter()
listeners.on_task_instance_running(previous_state=None, task_instance=ti)
listeners.on_task_instance_success(previous_state=None, task_instance=ti)
elapsed = time.perf_counter() - started
print(json.dumps({"ms": elapsed * 1000, "requests": requests}))
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(work: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    import httpx

    db_uri = f"sqlite:///{work / 'server.db'}"
    port = _free_port()
    env = {**os.environ, "LOCKGATE_HOME": str(work / "server-home"),
           "LOCKGATE_ADMIN_USERNAME": "admin", "LOCKGATE_ADMIN_PASSWORD": "admin-password-1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from lockgate.cli import main; main()", "server", "--backend-store-uri", db_uri,
         "--artifacts-destination", str(work / "artifacts"), "--port", str(port), "--auth", "--no-access-log"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise SystemExit("lockgate server did not start within 600 s")
    from lockgate.server.auth.store import AuthStore

    return proc, url, AuthStore(db_uri).create_token("admin", name="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dag-runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=10, help="tasks per DAG run, each its own process")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lockgate-airflow-server-bench-"))
    proc, url, token = _start_server(work)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW__LOCKGATE__AUTO_TRACK": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW_CONN_LOCKGATE_DEFAULT": json.dumps({"conn_type": "lockgate", "host": url, "password": token}),
        "LOCKGATE_HOME": str(work / "worker-home"),
    }
    first: list[dict] = []
    others: list[dict] = []
    try:
        for dag_run in range(args.dag_runs):
            for task in range(args.tasks):
                out = subprocess.run(
                    [sys.executable, "-c", TASK_SOURCE, "lg_bench", f"manual__bench_{dag_run}", f"step_{task:02d}"],
                    env=env, capture_output=True, text=True, check=True,
                )
                result = json.loads(out.stdout.strip().splitlines()[-1])
                (first if task == 0 else others).append(result)
        from lockgate import LockgateClient

        client = LockgateClient(url, token=token)
        written = len(list(client.search_runs(["lg_bench"], max_results=10000)))
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    def summary(rows: list[dict]) -> dict:
        return {
            "tasks": len(rows),
            "ms_per_task_median": round(statistics.median(r["ms"] for r in rows), 1),
            "ms_per_task_max": round(max(r["ms"] for r in rows), 1),
            "http_requests_per_task": statistics.median(len(r["requests"]) for r in rows),
            "requests": rows[0]["requests"],
        }

    print(json.dumps({
        "server": "lockgate server --auth, SQLite, 1 worker, loopback",
        "first_task_of_a_dag_run": summary(first),
        "other_tasks": summary(others),
        "lockgate_runs_written": written,
        "lockgate_runs_expected": args.dag_runs * (args.tasks + 1),
        "target_ms_per_task": 50,
    }, indent=2))


if __name__ == "__main__":
    main()
