"""Web UI benchmark: Lockgate's UI against MLflow's on the same data, in headless chromium.

Run by hand (never a timed test)::

    .nox/tests-core/bin/python bench/ui_bench.py                      # the issue's sizes
    .nox/tests-core/bin/python bench/ui_bench.py --runs 10000 --points 200000 --mlflow

Data is written straight into both databases before the servers start (the REST API would
take hours for 100,000 runs on this machine): Lockgate's through its store's tables, MLflow's
into a database created and migrated by MLflow's own ``SqlAlchemyStore``, through its ORM
tables. Both get the same rows: one experiment of ``--runs`` runs with 20 params and 20
metrics each drawn from ``--keys`` distinct keys, and one run with ``--series`` metrics of
``--points`` points. ``--data-dir DIR`` keeps the databases and reuses them next time (a
directory filled without ``--mlflow`` gets MLflow's copy of the same rows on the first run with it).
Measured: time until the first runs-table row is visible, re-sort by a metric, the compare
view of 1,000 runs drawing its parallel coordinates, the big-series chart drawing, and the
browser's JS heap after each. On MLflow's UI: the runs table (``#/experiments/<id>/runs``)
showing the newest run, and the big run's metric chart (``.../model-metrics``), each given
120 s.

``--events N`` (default 100,000) also gives one registered model N events in its audit trail
(written straight into the server's database before it starts, as the registry would have
recorded them) and measures its timeline page: first row visible, the next page, a filter by
a rare actor, and the API's pages; ``--timeline-only`` skips the runs measurements. MLflow
has no promotion history to compare with. The SQLite query plan of a page is printed, to
show that it walks the event log's index.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
API = "/api/2.0/mlflow"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[Any], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.args!r}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} not ready")


def start_lockgate(tmp: Path) -> tuple[str, subprocess.Popen[Any]]:
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "lockgate.cli.server", "--port", str(port),
                             "--backend-store-uri", f"sqlite:///{tmp / 'lockgate.db'}",
                             "--artifacts-destination", str(tmp / "lg-art"), "--no-access-log"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    return url, proc


def start_mlflow(tmp: Path) -> tuple[str, subprocess.Popen[Any]]:
    port = _port()
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    proc = subprocess.Popen([mlflow, "server", "--port", str(port), "--backend-store-uri",
                             f"sqlite:///{tmp / 'mlflow.db'}", "--artifacts-destination", str(tmp / "ml-art"),
                             "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    return url, proc


def _stop(proc: subprocess.Popen[Any]) -> None:
    """Stop a server and every process it spawned (mlflow server runs uvicorn and job workers)."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def _dataset(*, runs: int, keys: int, points: int, series: int) -> dict[str, Any]:
    """The rows both stores get: ``runs`` runs of 20 params/20 metrics over ``keys`` keys, and one
    run with ``series`` metrics of ``points`` points (a spike a third of the way in)."""
    import uuid

    now = int(time.time() * 1000) - runs - 10_000
    run_ids = [uuid.uuid4().hex for _ in range(runs)]
    big = uuid.uuid4().hex
    return {"now": now, "runs": run_ids, "big": big, "keys": keys, "points": points, "series": series}


def _run_rows(data: dict[str, Any], start: int, stop: int) -> Iterator[tuple[int, str, list[tuple[str, str]],
                                                                            list[tuple[str, float]]]]:
    keys = data["keys"]
    for i in range(start, stop):
        base = (i * 20) % keys
        params = [(f"p{(base + j) % keys:04d}", str((i * 7 + j) % 13)) for j in range(20)]
        metrics = [(f"m{(base + j) % keys:04d}", ((i * 31 + j) % 1000) / 1000.0) for j in range(20)]
        yield i, data["runs"][i], params, metrics


def _series_points(data: dict[str, Any]) -> Iterator[tuple[str, list[tuple[float, int, int]]]]:
    """(key, [(value, timestamp, step), ...]) in chunks of 50,000 points."""
    points, now = data["points"], data["now"]
    for s in range(data["series"]):
        for start in range(0, points, 50_000):
            yield f"series{s}", [(float((k * 37) % 101) + (1000.0 if k == points // 3 else 0.0), now + k, k)
                                 for k in range(start, min(points, start + 50_000))]


class _Writer:
    """What differs between the two stores: how a run row looks, which tables take the rows, and
    how a transaction is opened. ``fill`` writes the same data set through either."""

    name = ""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.exp = ""

    def run_row(self, run_id: str, name: str, start: int) -> dict[str, Any]:
        raise NotImplementedError

    def tables(self) -> tuple[Any, Any, Any, Any, Any]:
        """The (runs, tags, params, latest metrics, metric history) tables."""
        raise NotImplementedError

    def begin(self) -> Any:
        raise NotImplementedError

    def series_written(self, conn: Any, run_id: str) -> None:
        """Called after the big run's points are in (same transaction)."""

    def close(self) -> None:
        pass


class _LockgateWriter(_Writer):
    """Lockgate's database through the store's own tables."""

    name = "Lockgate"

    def __init__(self, db: Path) -> None:
        from lockgate.store.sql.store import SqlStore

        super().__init__(db)
        self.store = SqlStore(f"sqlite:///{db}", artifact_root=str(db.parent / "lg-art"))
        self.exp = self.store.create_experiment("ui-bench")

    def run_row(self, run_id: str, name: str, start: int) -> dict[str, Any]:
        return {"run_uuid": run_id, "experiment_id": int(self.exp), "name": name, "user_id": "bench",
                "status": "FINISHED", "start_time": start, "end_time": start + 1000, "lifecycle_stage": "active",
                "artifact_uri": f"{self.db.parent}/lg-art/{self.exp}/{run_id}/artifacts", "parent_run_id": None,
                "deleted_time": None}

    def tables(self) -> tuple[Any, Any, Any, Any, Any]:
        from lockgate.store.sql.run_rows import LM, M, P, R, T

        return R, T, P, LM, M

    def begin(self) -> Any:
        from lockgate.store.sql.engine import write_connection

        return write_connection(self.store.engine)

    def series_written(self, conn: Any, run_id: str) -> None:
        # Written around the store, so the chart's per-block min/max that log_batch keeps.
        from lockgate.store.sql.metric_blocks import rebuild_blocks

        rebuild_blocks(conn, [run_id])


class _MlflowWriter(_Writer):
    """MLflow's database, created and migrated by MLflow's own ``SqlAlchemyStore``, through its
    ORM tables (``SqlRun``, ``SqlParam`` ...)."""

    name = "MLflow"

    def __init__(self, db: Path) -> None:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        super().__init__(db)
        self.store = SqlAlchemyStore(f"sqlite:///{db}", str(db.parent / "ml-art"))
        self.exp = str(self.store.create_experiment("ui-bench"))

    def run_row(self, run_id: str, name: str, start: int) -> dict[str, Any]:
        return {"run_uuid": run_id, "name": name, "source_type": "LOCAL", "source_name": "", "entry_point_name": "",
                "user_id": "bench", "status": "FINISHED", "start_time": start, "end_time": start + 1000,
                "source_version": "", "lifecycle_stage": "active",
                "artifact_uri": f"{self.db.parent}/ml-art/{self.exp}/{run_id}/artifacts",
                "experiment_id": int(self.exp)}

    def tables(self) -> tuple[Any, Any, Any, Any, Any]:
        from mlflow.store.tracking.dbmodels.models import (
            SqlLatestMetric,
            SqlMetric,
            SqlParam,
            SqlRun,
            SqlTag,
        )

        return (SqlRun.__table__, SqlTag.__table__, SqlParam.__table__, SqlLatestMetric.__table__,
                SqlMetric.__table__)

    def begin(self) -> Any:
        return self.store.engine.begin()

    def close(self) -> None:
        self.store.engine.dispose()


def fill(writer: _Writer, data: dict[str, Any]) -> str:
    """Write the data set into one store's database, one transaction per 5,000 runs (Core inserts:
    the REST API would take hours for 100,000 runs here). Returns the experiment id."""
    from sqlalchemy import insert

    started = time.perf_counter()
    now = data["now"]
    runs_t, tags_t, params_t, latest_t, metrics_t = writer.tables()
    for chunk in range(0, len(data["runs"]), 5000):
        runs, tags, params, latest = [], [], [], []
        for i, run_id, ps, ms in _run_rows(data, chunk, min(len(data["runs"]), chunk + 5000)):
            runs.append(writer.run_row(run_id, f"run-{i:06d}", now + i))
            tags += [{"run_uuid": run_id, "key": "mlflow.runName", "value": f"run-{i:06d}"},
                     {"run_uuid": run_id, "key": "mlflow.user", "value": "bench"}]
            params += [{"run_uuid": run_id, "key": k, "value": v} for k, v in ps]
            latest += [{"run_uuid": run_id, "key": k, "value": v, "is_nan": False, "timestamp": now, "step": 0}
                       for k, v in ms]
        with writer.begin() as conn:
            conn.execute(insert(runs_t), runs)
            conn.execute(insert(tags_t), tags)
            conn.execute(insert(params_t), params)
            conn.execute(insert(latest_t), latest)
            conn.execute(insert(metrics_t), latest)
    big = data["big"]
    with writer.begin() as conn:
        conn.execute(insert(runs_t), [writer.run_row(big, "big-series", now)])
        conn.execute(insert(tags_t), [{"run_uuid": big, "key": "mlflow.runName", "value": "big-series"}])
        last: dict[str, tuple[float, int, int]] = {}
        for key, pts in _series_points(data):
            conn.execute(insert(metrics_t), [{"run_uuid": big, "key": key, "value": v, "is_nan": False,
                                              "timestamp": t, "step": st} for v, t, st in pts])
            last[key] = pts[-1]
        conn.execute(insert(latest_t), [{"run_uuid": big, "key": k, "value": v, "is_nan": False, "timestamp": t,
                                         "step": st} for k, (v, t, st) in last.items()])
        writer.series_written(conn, big)
    writer.close()
    print(f"  filled {writer.name}'s database in {time.perf_counter() - started:.0f} s", flush=True)
    return writer.exp


def _heap(page: Any) -> float:
    return float(page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : 0")) / 2**20


def _ink(selector: str) -> str:
    return (f"() => [...document.querySelectorAll({selector!r})].some(c => {{ const d = c.getContext('2d')"
            ".getImageData(0, 0, c.width, c.height).data; for (let i = 3; i < d.length; i += 4)"
            " if (d[i] !== 0) return true; return false; })")


def measure_lockgate(browser: Any, url: str, data: dict[str, Any]) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(120_000)
    t = time.perf_counter()
    page.goto(f"{url}/experiments/{data['exp']}")
    page.locator("[data-testid=runs-table] tbody tr[data-run-id]").first.wait_for()
    out["runs table, first row"] = (time.perf_counter() - t, _heap(page))
    first = page.locator("[data-testid=runs-table] tbody tr[data-run-id]").first.get_attribute("data-run-id")
    header = page.locator("[data-testid=runs-table] thead th.kind-metrics button").first
    t = time.perf_counter()
    header.click()
    page.wait_for_function("id => { const r = document.querySelector('[data-testid=runs-table] tbody "
                           "tr[data-run-id]'); return r && r.dataset.runId !== id && "
                           "!document.querySelector('[data-testid=runs-count]').textContent.includes('loading'); }",
                           arg=first)
    out["re-sort by a metric"] = (time.perf_counter() - t, _heap(page))
    ids = ",".join(data["runs"][:1000])
    t = time.perf_counter()
    page.goto(f"{url}/compare?runs={ids}")
    page.wait_for_function(_ink("[data-testid=parallel-coords]"))
    out["compare 1,000 runs, parallel coordinates"] = (time.perf_counter() - t, _heap(page))
    t = time.perf_counter()
    page.goto(f"{url}/runs/{data['big']}")
    page.wait_for_function(_ink("[data-testid='chart-series0'] canvas"))
    out["big-series chart"] = (time.perf_counter() - t, _heap(page))
    page.close()
    return out


TIMELINE_MODEL = "audited"


def populate_events(db: Path, events: int) -> None:
    """A model with a gated @champion and ``events`` audit events: moves with evidence,
    refusals, approvals and tag changes by 50 actors, one of them ("rare-actor") 10 times."""

    from lockgate.client import LockgateClient
    from lockgate.registry import GatePolicy, MetricThreshold
    from lockgate.store.sql.engine import get_engine
    from lockgate.store.sql.registry_rows import EV, RM

    client = LockgateClient(tracking_uri=f"sqlite:///{db}", user="bench")
    client.create_registered_model(TIMELINE_MODEL)
    client.set_gate_policy(TIMELINE_MODEL, alias="champion", policy=GatePolicy(rules=[MetricThreshold(metric="auc", min=0.8)]))
    for _ in range(3):
        client.create_model_version(TIMELINE_MODEL, source="s3://bench/model")
    engine = get_engine(f"sqlite:///{db}")
    evidence = json.dumps({"passed": False, "policy_version": 1, "results": [
        {"rule": "auc >= 0.8", "passed": False, "observed": 0.71, "expected": {"min": 0.8}, "message": "0.71 < 0.8"}]})
    kinds = ["ALIAS_SET", "GATE_REJECTED", "VERSION_APPROVED", "VERSION_TAG_SET"]
    started = time.perf_counter()
    with engine.begin() as conn:
        model_id = conn.execute(RM.select().where(RM.c.name == TIMELINE_MODEL)).first().id
        base = int(time.time() * 1000) - events * 1000
        rows = []
        for i in range(events):
            kind = kinds[i % 4]
            rows.append({
                "event_type": kind, "model_id": model_id, "model_name": TIMELINE_MODEL, "version": 1 + i % 3,
                "alias": "champion" if kind in ("ALIAS_SET", "GATE_REJECTED") else None,
                "from_version": 1 + (i + 1) % 3, "to_version": 1 + i % 3,
                "actor": "rare-actor" if i % (events // 10 or 1) == 5 else f"user{i % 50}",
                "time": base + i * 1000, "reason": f"reason {i}", "override": False,
                "evidence": evidence if kind in ("ALIAS_SET", "GATE_REJECTED") else None, "details": None,
            })
            if len(rows) == 10_000:
                conn.execute(EV.insert(), rows)
                rows = []
        if rows:
            conn.execute(EV.insert(), rows)
    print(f"  wrote {events} events in {time.perf_counter() - started:.1f} s", flush=True)
    with engine.connect() as conn:
        from sqlalchemy import text

        plan = conn.execute(text("EXPLAIN QUERY PLAN SELECT * FROM registry_events WHERE model_id = :m "
                                 "AND id < :b ORDER BY id DESC LIMIT 101"), {"m": model_id, "b": 10**9}).all()
        print("  query plan of a page: " + "; ".join(str(r[-1]) for r in plan), flush=True)


def measure_timeline(browser: Any, url: str) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    api = f"{url}/api/v1/registered-models/{TIMELINE_MODEL}/timeline"
    for label, params in [("API: first page of 100", {"limit": 100}),
                          ("API: a page 90,000 events deep", {"limit": 100, "before_id": 10_000}),
                          ("API: filter by a rare actor", {"limit": 100, "actor": "rare-actor"})]:
        t = time.perf_counter()
        httpx.get(api, params=params, timeout=120).raise_for_status()
        out[label] = (time.perf_counter() - t, 0.0)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(120_000)
    for label in ("timeline page, first row (cold browser)", "timeline page, first row (warm)"):
        t = time.perf_counter()
        page.goto(f"{url}/models/{TIMELINE_MODEL}/history")
        page.locator("[data-testid=timeline] tr[data-event-id]").first.wait_for()
        out[label] = (time.perf_counter() - t, _heap(page))
    t = time.perf_counter()
    page.get_by_test_id("load-more").click()
    page.locator("[data-testid=timeline] tr[data-event-id]").nth(199).wait_for()
    out["timeline, next 100 events"] = (time.perf_counter() - t, _heap(page))
    t = time.perf_counter()
    page.goto(f"{url}/models/{TIMELINE_MODEL}/history?actor=rare-actor")
    page.locator("[data-testid=timeline] tr[data-event-id]").first.wait_for()
    out["timeline filtered by a rare actor"] = (time.perf_counter() - t, _heap(page))
    page.close()
    return out


def measure_mlflow(browser: Any, url: str, data: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Only what can be automated without MLflow-internal selectors: the newest run's name
    appearing on the experiment page. A timeout is reported, with a screenshot to look at."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(120_000)
    last = f"run-{len(data['runs']) - 1:06d}"  # newest first by default
    out: dict[str, tuple[float, float]] = {}
    t = time.perf_counter()
    # MLflow 3.17 opens an experiment on a GenAI overview; its runs table is the /runs tab.
    page.goto(f"{url}/#/experiments/{data['exp']}/runs")
    try:
        page.get_by_text(last, exact=True).first.wait_for()
        out["runs table, first row"] = (time.perf_counter() - t, _heap(page))
    except PlaywrightTimeout:
        shot = Path(tempfile.gettempdir()) / "ui-bench-mlflow.png"
        page.screenshot(path=str(shot))
        print(f"  MLflow's page did not show {last} within 120 s; screenshot: {shot}", flush=True)
    # The big run's metric charts (plotly SVG lines) on MLflow's run page.
    t = time.perf_counter()
    page.goto(f"{url}/#/experiments/{data['exp']}/runs/{data['big']}/model-metrics")
    try:
        page.locator("svg.main-svg path.js-line").first.wait_for()
        out["big-series chart"] = (time.perf_counter() - t, _heap(page))
    except PlaywrightTimeout:
        shot = Path(tempfile.gettempdir()) / "ui-bench-mlflow-chart.png"
        page.screenshot(path=str(shot))
        print(f"  MLflow's run page drew no metric line within 120 s; screenshot: {shot}", flush=True)
    page.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=2_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=5)
    parser.add_argument("--mlflow", action="store_true", help="also measure `mlflow server`'s UI")
    parser.add_argument("--events", type=int, default=100_000, help="audit events of the timeline's model")
    parser.add_argument("--timeline-only", action="store_true", help="measure only the registry timeline")
    parser.add_argument("--data-dir", type=Path, help="keep the filled databases here and reuse them next time")
    parser.add_argument("--chromium", default=os.environ.get("LOCKGATE_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = args.data_dir or Path(tempfile.mkdtemp(prefix="ui-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    saved = tmp / "bench.json"
    procs: list[subprocess.Popen[Any]] = []
    results: dict[str, dict[str, tuple[float, float]]] = {}
    try:
        sizes = {"runs": args.runs, "keys": args.keys, "points": args.points, "series": args.series}
        if saved.exists():
            lg_data, ml_data = json.loads(saved.read_text())
            print(f"  reusing the databases in {tmp}", flush=True)
            if args.mlflow and lg_data and not ml_data:
                # Filled earlier without --mlflow: the same rows (run ids, values) go into MLflow's now.
                ml_data = {**lg_data, "exp": fill(_MlflowWriter(tmp / "mlflow.db"), lg_data)}
                saved.write_text(json.dumps([lg_data, ml_data]))
        else:
            data = None if args.timeline_only else _dataset(**sizes)
            lg_data = ml_data = None
            if args.events:
                populate_events(tmp / "lockgate.db", args.events)
            if data:
                lg_data = {**data, "exp": fill(_LockgateWriter(tmp / "lockgate.db"), data)}
            if args.mlflow and data:
                ml_data = {**data, "exp": fill(_MlflowWriter(tmp / "mlflow.db"), data)}
            if args.data_dir:
                saved.write_text(json.dumps([lg_data, ml_data]))
        lg_url, proc = start_lockgate(tmp)
        procs.append(proc)
        _wait(lg_url, proc)
        ml_url = None
        if args.mlflow and ml_data:
            ml_url, proc = start_mlflow(tmp)
            procs.append(proc)
            _wait(ml_url, proc)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, headless=True,
                                         args=[*CHROMIUM_FLAGS, "--enable-precise-memory-info"])
            results["Lockgate"] = measure_lockgate(browser, lg_url, lg_data) if lg_data else {}
            if args.events:
                results["Lockgate"].update(measure_timeline(browser, lg_url))
            if ml_url and ml_data:
                results["MLflow"] = measure_mlflow(browser, ml_url, ml_data)
            browser.close()
    finally:
        for proc in procs:
            _stop(proc)
        if not args.data_dir:
            shutil.rmtree(tmp, ignore_errors=True)
    runs = "" if args.timeline_only else (f"{args.runs} runs x 20 params/20 metrics over {args.keys} keys; "
                                          f"{args.series} series of {args.points} points; ")
    print(f"\n{runs}{args.events} timeline events; load {os.getloadavg()[0]:.1f}")
    print(f"{'measure':45} {'Lockgate s':>11} {'heap MB':>8} {'MLflow s':>10} {'heap MB':>8} {'ratio':>7}")
    for name, (secs, heap) in results["Lockgate"].items():
        other = results.get("MLflow", {}).get(name)
        ml = f"{other[0]:10.2f} {other[1]:8.0f} {other[0] / secs:6.1f}x" if other else f"{'n/a':>10} {'':>8} {'':>7}"
        print(f"{name:45} {secs:11.2f} {heap:8.0f} {ml}")


if __name__ == "__main__":
    main()
