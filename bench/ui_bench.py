"""Web UI benchmark: Lockgate's UI against MLflow's on the same data, in headless chromium.

Run by hand (never a timed test)::

    .nox/tests-core/bin/python bench/ui_bench.py                      # the issue's sizes
    .nox/tests-core/bin/python bench/ui_bench.py --runs 10000 --points 200000 --mlflow

Data goes in through MLflow's REST API (both servers speak it): one experiment of ``--runs``
runs with 20 params and 20 metrics each drawn from ``--keys`` distinct keys, and one run with
5 metrics of ``--points`` points. Measured: time until the first runs-table row is visible,
re-sort by a metric, the compare view of 1,000 runs drawing its parallel coordinates, the
big-series chart drawing, and the browser's JS heap after each.

``--events N`` (default 100,000) also gives one registered model N events in its audit trail
(written straight into the server's database before it starts, as the registry would have
recorded them) and measures its timeline page: first row visible, the next page, a filter by
a rare actor, and the API's pages; ``--timeline-only`` skips the runs measurements. MLflow
has no promotion history to compare with. The SQLite query plan of a page is printed, to
show that it walks the event log's index.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
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


def populate(url: str, *, runs: int, keys: int, points: int, series: int) -> dict[str, Any]:
    """Log the data set through MLflow's REST API; returns experiment id, run ids, big run id."""
    http = httpx.Client(base_url=url, timeout=120, limits=httpx.Limits(max_connections=16))
    exp = http.post(f"{API}/experiments/create", json={"name": "ui-bench"}).json()["experiment_id"]
    now = int(time.time() * 1000)

    def one(i: int) -> str:
        run = http.post(f"{API}/runs/create", json={"experiment_id": exp, "run_name": f"run-{i:06d}",
                                                   "start_time": now + i}).json()["run"]["info"]["run_id"]
        base = (i * 20) % keys
        params = [{"key": f"p{(base + j) % keys:04d}", "value": str((i * 7 + j) % 13)} for j in range(20)]
        metrics = [{"key": f"m{(base + j) % keys:04d}", "value": ((i * 31 + j) % 1000) / 1000.0,
                    "timestamp": now, "step": 0} for j in range(20)]
        http.post(f"{API}/runs/log-batch", json={"run_id": run, "params": params, "metrics": metrics})
        return run

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        run_ids = list(pool.map(one, range(runs)))
    big = http.post(f"{API}/runs/create", json={"experiment_id": exp, "run_name": "big-series",
                                               "start_time": now}).json()["run"]["info"]["run_id"]

    def chunk(args: tuple[int, int]) -> None:
        s, start = args
        batch = [{"key": f"series{s}", "value": float((k * 37) % 101) + (1000.0 if k == points // 3 else 0.0),
                  "timestamp": now + k, "step": k} for k in range(start, min(points, start + 1000))]
        http.post(f"{API}/runs/log-batch", json={"run_id": big, "metrics": batch})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(chunk, [(s, k) for s in range(series) for k in range(0, points, 1000)]))
    print(f"  logged into {url} in {time.perf_counter() - started:.0f} s", flush=True)
    return {"exp": exp, "runs": run_ids, "big": big}


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
    import json

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
    parser.add_argument("--chromium", default=os.environ.get("LOCKGATE_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="ui-bench-"))
    procs: list[subprocess.Popen[Any]] = []
    results: dict[str, dict[str, tuple[float, float]]] = {}
    try:
        sizes = {"runs": args.runs, "keys": args.keys, "points": args.points, "series": args.series}
        if args.events:
            populate_events(tmp / "lockgate.db", args.events)
        lg_url, proc = start_lockgate(tmp)
        procs.append(proc)
        _wait(lg_url, proc)
        lg_data = None if args.timeline_only else populate(lg_url, **sizes)
        ml_url = ml_data = None
        if args.mlflow and not args.timeline_only:
            ml_url, proc = start_mlflow(tmp)
            procs.append(proc)
            _wait(ml_url, proc)
            ml_data = populate(ml_url, **sizes)
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
