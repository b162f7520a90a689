"""Import throughput: ``lockgate import mlflow`` from ``mlflow server`` on SQLite into Lockgate
on SQLite, beside the time MLflow's own client takes to read the same data out.

Run by hand (not a test): ``python bench/import_bench.py --runs 100 --points 2000``.
It starts a real ``mlflow server`` on a fresh SQLite file, fills it with the stock client
(``--runs`` runs, each with ``--keys`` metric histories of ``--points`` points, 10 params,
5 tags), then measures, one after the other:

1. MLflow's fastest export here: ``MlflowClient.search_runs`` over every page plus
   ``get_metric_history`` for every key of every run (what any exporter built on the
   client does; MLflow has no bulk export endpoint);
2. ``import_mlflow`` over REST into a fresh Lockgate SQLite file, with the time spent in
   Lockgate's writes measured separately (reads = total - writes);
3. the same import read from MLflow's database file directly;
4. both imports again into a running ``lockgate server`` (a separate process on its own fresh
   SQLite file) by URL, through its ``/api/v1/import`` routes: the server path beside the
   database path, the source held the same.

It prints runs/s and metric points/s for each and says whether the REST import is limited
by MLflow's reads or Lockgate's writes. Print ``uptime`` with the figures: they depend on load.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _services() -> Any:
    spec = importlib.util.spec_from_file_location("lockgate_tests_services", ROOT / "tests" / "_services.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def fill(url: str, *, runs: int, keys: int, points: int) -> int:
    """Log the workload with the stock client; returns the number of metric points."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(url)
    exp = client.create_experiment("bench")
    now = int(time.time() * 1000)
    for r in range(runs):
        run = client.create_run(exp, run_name=f"run-{r}", start_time=now + r)
        rid = run.info.run_id
        client.log_batch(rid, params=[Param(f"p{i}", str(i)) for i in range(10)],
                         tags=[RunTag(f"t{i}", "x") for i in range(5)])
        batch: list[Metric] = []
        for k in range(keys):
            for s in range(points):
                batch.append(Metric(f"m{k}", s * 0.5, now + s, s))
                if len(batch) == 1000:
                    client.log_batch(rid, metrics=batch)
                    batch = []
        if batch:
            client.log_batch(rid, metrics=batch)
        client.set_terminated(rid, end_time=now + 10_000)
    return runs * keys * points


def mlflow_export(url: str) -> tuple[float, int, int]:
    """Read every run and every history through the mlflow client: (seconds, runs, points)."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(url)
    began = time.perf_counter()
    n_runs = n_points = 0
    for exp in client.search_experiments(view_type=ViewType.ALL):
        token = None
        while True:
            page = client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL, max_results=500,
                                      page_token=token)
            for run in page:
                n_runs += 1
                for key in run.data.metrics:
                    n_points += len(client.get_metric_history(run.info.run_id, key))
            token = page.token
            if not token:
                break
    return time.perf_counter() - began, n_runs, n_points


def start_lockgate_server(services: Any, root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``lockgate server`` (one worker, auth off, artifacts through its proxy) on a fresh SQLite file."""
    import httpx

    port = services.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockgate.cli.server", "--port", str(port), "--backend-store-uri",
         f"sqlite:///{root / 'server.db'}", "--artifacts-destination", str(root / "server-artifacts"),
         "--no-access-log"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/health", timeout=2.0).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"lockgate server did not start on {url}")


def lockgate_import(source_url: str, dest_dir: Path, *, artifacts_root: str | None = None,
                    to: str | None = None) -> dict[str, float]:
    """One import into a fresh Lockgate SQLite file (or the server at ``to``), writes timed apart."""
    os.environ["LOCKGATE_HOME"] = str(dest_dir)
    from lockgate.importers.mlflow import ImportOptions, LockgateWriter, import_mlflow, open_source
    from lockgate.store import clear_store_cache

    clear_store_cache()

    class TimedWriter(LockgateWriter):
        spent = 0.0

        def begin_run(self, run: Any, *, experiment_id: str) -> str:
            began = time.perf_counter()
            try:
                return super().begin_run(run, experiment_id=experiment_id)
            finally:
                TimedWriter.spent += time.perf_counter() - began

        def add_metrics(self, run_id: str, points: Sequence[Any]) -> None:
            began = time.perf_counter()
            try:
                super().add_metrics(run_id, points)
            finally:
                TimedWriter.spent += time.perf_counter() - began

        def finish_run(self, run: Any) -> None:
            began = time.perf_counter()
            try:
                super().finish_run(run)
            finally:
                TimedWriter.spent += time.perf_counter() - began

    source = open_source(source_url, artifacts_root=artifacts_root)
    writer = TimedWriter(to or f"sqlite:///{dest_dir / 'lockgate.db'}", source_label=source.label)
    report = import_mlflow(source, writer, options=ImportOptions(artifacts=False))
    source.close()
    if not report.ok:
        raise SystemExit(f"import failed: {report.problems} {report.interrupted}")
    return {"seconds": report.seconds, "writes": TimedWriter.spent, "runs": report.counts["runs"].created,
            "points": report.counts["metric points"].created}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--keys", type=int, default=2)
    parser.add_argument("--points", type=int, default=1000, help="points per metric key")
    args = parser.parse_args()
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    services = _services()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db = f"sqlite:///{root / 'mlflow.db'}"
        server = services.start_mlflow_server(db, root / "mlflow-artifacts", timeout=600)
        try:
            began = time.perf_counter()
            total = fill(server.url, runs=args.runs, keys=args.keys, points=args.points)
            print(f"filled mlflow server: {args.runs} runs, {total:,} points in {time.perf_counter() - began:.1f} s")
            ml_s, ml_runs, ml_points = mlflow_export(server.url)
            rest = lockgate_import(server.url, root / "dest-rest")
            direct = lockgate_import(db, root / "dest-db")
            into = {}
            for label, source_url in (("rest", server.url), ("db", db)):
                (root / f"server-{label}").mkdir()
                lg_proc, lg_url = start_lockgate_server(services, root / f"server-{label}")
                try:
                    into[label] = lockgate_import(source_url, root / f"dest-server-{label}", to=lg_url)
                finally:
                    lg_proc.terminate()
                    lg_proc.wait(timeout=30)
        finally:
            server.stop()
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"\n{load}\n")
    print(f"{'':<46}{'seconds':>9}{'runs/s':>9}{'points/s':>11}")
    print(f"{'MLflow client: read everything out':<46}{ml_s:>9.2f}{ml_runs / ml_s:>9.1f}{ml_points / ml_s:>11,.0f}")
    for label, r in (("lockgate import mlflow --from http://...", rest),
                     ("lockgate import mlflow --from sqlite:///...", direct),
                     ("  the same, --from http://... --to server", into["rest"]),
                     ("  the same, --from sqlite:///... --to server", into["db"])):
        print(f"{label:<46}{r['seconds']:>9.2f}{r['runs'] / r['seconds']:>9.1f}{r['points'] / r['seconds']:>11,.0f}")
    writes = rest["writes"]
    reads = rest["seconds"] - writes
    print(f"\nREST import: {reads:.2f} s reading MLflow, {writes:.2f} s writing Lockgate "
          f"({writes / rest['seconds']:.0%} of the time): limited by "
          f"{'MLflow reads' if reads > writes else 'Lockgate writes'}.")
    print(f"Lockgate's writes alone: {rest['points'] / writes:,.0f} points/s; from MLflow's database: "
          f"{direct['writes']:.2f} s writing of {direct['seconds']:.2f} s.")
    print(f"Into a running server by URL (from MLflow's database): {into['db']['writes']:.2f} s writing of "
          f"{into['db']['seconds']:.2f} s, {into['db']['points'] / into['db']['writes']:,.0f} points/s written "
          f"(database path: {direct['points'] / direct['writes']:,.0f}).")


if __name__ == "__main__":
    main()
