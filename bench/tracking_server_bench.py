"""``lockgate server`` and ``mlflow server`` side by side under the shared tracking bench.

Run by hand (not a test)::

    python bench/tracking_server_bench.py --backend sqlite --backend postgres --conn close --conn keepalive

For each backend and server it makes a fresh database (a SQLite file, or a new PostgreSQL
database in the cluster at ``--pg``), starts the server (``lockgate server`` from this
checkout, ``mlflow server`` through ``tests/_services.start_mlflow_server``), runs
``tracking_bench.py`` once per ``--conn`` mode against its own fresh database, and writes each
JSON result to ``--out``; then prints the Markdown table of bench/README.md with the load
average seen before and after each run. ``--only lockgate`` skips MLflow (profiling rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_BENCH = ROOT.parent / "shared" / "bench" / "tracking_bench.py"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def _fresh_db(backend: str, pg: str, tmp: Path, tag: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / f'{tag}.db'}"
    import psycopg

    name = f"bench_{tag}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://{pg.split('://', 1)[1]}/{name}"


def _drop_db(uri: str, pg: str) -> None:
    if not uri.startswith("postgresql"):
        return
    import psycopg

    name = uri.rsplit("/", 1)[1]
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start_lockgate(uri: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    port = _port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp / f"lockgate-{port}.log").open("wb")
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockgate.cli.server", "--port", str(port), "--backend-store-uri", uri,
         "--artifacts-destination", str(tmp / f"artifacts-{port}"), "--no-access-log"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "LOCKGATE_HOME": str(tmp / "home")},
    )
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url, time.perf_counter() - began
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit((tmp / f"lockgate-{port}.log").read_text())
        time.sleep(0.02)


def _run_bench(bench: Path, url: str, pid: int, conn: str, label: str, out: Path, db_file: str | None,
               scale: float) -> dict:
    command = [sys.executable, str(bench), "--url", url, "--conn", conn, "--label", label,
               "--server-pid", str(pid), "--scale", str(scale)]
    if db_file:
        command += ["--db-file", db_file]
    before = _loadavg()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["loadavg_before"], result["loadavg_after"] = before, _loadavg()
    out.write_text(json.dumps(result, indent=1))
    print(f"  {label}: load {before} -> {result['loadavg_after']}", file=sys.stderr, flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    ap.add_argument("--conn", action="append", choices=["close", "keepalive"])
    ap.add_argument("--only", choices=["lockgate", "mlflow"])
    ap.add_argument("--scale", type=float, default=1.0, help="tracking_bench's --scale")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "tracking-server-bench")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    servers = [args.only] if args.only else ["mlflow", "lockgate"]
    for backend in args.backend or ["sqlite"]:
        for conn in args.conn or ["close"]:
            results = {}
            for server in servers:
                with tempfile.TemporaryDirectory(prefix="tsb-") as tmp_name:
                    tmp = Path(tmp_name)
                    uri = _fresh_db(backend, args.pg, tmp, server)
                    db_file = uri.split("///", 1)[1] if backend == "sqlite" else None
                    label = f"{server}-{backend}-{conn}"
                    try:
                        if server == "lockgate":
                            proc, url, ready = _start_lockgate(uri, tmp)
                            pid = proc.pid
                        else:
                            from tests._services import start_mlflow_server

                            began = time.perf_counter()
                            mlf = start_mlflow_server(uri, tmp / "artifacts", timeout=900)
                            url, pid, ready = mlf.url, mlf.process.pid, time.perf_counter() - began
                        try:
                            results[server] = _run_bench(args.bench, url, pid, conn, label,
                                                         args.out / f"{label}.json", db_file, args.scale)
                            results[server]["ready_s"] = round(ready, 2)
                        finally:
                            if server == "lockgate":
                                os.killpg(proc.pid, signal.SIGTERM)
                                proc.wait(30)
                            else:
                                mlf.stop()
                    finally:
                        _drop_db(uri, args.pg)
            if len(results) == 2:
                print(f"\n### {backend}, --conn {conn}\n")
                subprocess.run([sys.executable, str(ROOT / "bench" / "server_table.py"),
                                str(args.out / f"mlflow-{backend}-{conn}.json"),
                                str(args.out / f"lockgate-{backend}-{conn}.json")], check=True)
                print(f"\nload average: MLflow {results['mlflow']['loadavg_before']} -> "
                      f"{results['mlflow']['loadavg_after']}, Lockgate {results['lockgate']['loadavg_before']}"
                      f" -> {results['lockgate']['loadavg_after']}")
            else:
                for server, result in results.items():
                    print(json.dumps({server: {k: v for k, v in result.items() if k.startswith("w")}}))


if __name__ == "__main__":
    main()
