"""Wall time Lockgate adds per materialized Dagster asset (target: < 50 ms), on SQLite or a server.

    python bench/dagster_overhead_bench.py [--runs 15]
    python bench/dagster_overhead_bench.py --server [--runs 15]

``--server`` starts a ``lockgate server`` (auth on, artifacts proxied, its own SQLite file) as
a separate process, tracks into it over HTTP with an API token, and also prints how many HTTP
requests the resource and the IO manager make per asset.

Materializes the same small scikit-learn model asset repeatedly in one Dagster instance,
untracked (Dagster's filesystem IO manager) and tracked (LockgateResource.start_run with a
metric and a param, plus LockgateModelIOManager logging and registering the model), and
reports medians of: Lockgate's own time (the resource's calls, timed inside the asset, plus
the output handling, from Dagster's STEP_OUTPUT to HANDLED_OUTPUT events) against the
filesystem IO manager's output handling, and whole step durations for context (those are
dominated by Dagster and noisy on a busy machine). The first materialization of each kind
(migrations, imports) is a warm-up and not counted.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import numpy as np
from lockgate_dagster import LockgateModelIOManager, LockgateResource
from sklearn.linear_model import LogisticRegression

X = np.random.default_rng(0).normal(size=(200, 5))
Y = (X[:, 0] > 0).astype(int)


@dg.asset
def untracked_model() -> LogisticRegression:
    return LogisticRegression().fit(X, Y)


RESOURCE_SECONDS: list[float] = []
# HTTP requests sent by this process (counted only with --server), per resource block and output.
RESOURCE_REQUESTS: list[int] = []
OUTPUT_REQUESTS: list[int] = []
_SENT = [0]


def _count_http_requests() -> None:
    """Count every request httpx sends from this process (the RestStore and artifact proxy use it)."""
    import httpx

    original = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: object) -> httpx.Response:
        _SENT[0] += 1
        return original(self, request, **kwargs)  # type: ignore[arg-type]

    httpx.Client.send = send  # type: ignore[method-assign]
# CPU seconds of this process in Lockgate's code: unlike wall time, barely moved by other
# processes competing for the cores, so comparable across busy and idle machines.
RESOURCE_CPU: list[float] = []
OUTPUT_CPU: list[float] = []


class TimedModelIOManager(LockgateModelIOManager):
    """LockgateModelIOManager that records the CPU time of each handle_output."""

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        started, sent = time.process_time(), _SENT[0]
        super().handle_output(context, obj)
        OUTPUT_CPU.append(time.process_time() - started)
        OUTPUT_REQUESTS.append(_SENT[0] - sent)


@dg.asset(io_manager_key="model_io")
def tracked_model(context: dg.AssetExecutionContext, lockgate: LockgateResource):
    model = LogisticRegression().fit(X, Y)
    started, cpu, sent = time.perf_counter(), time.process_time(), _SENT[0]
    with lockgate.start_run(context):
        lockgate.log_param("C", 1.0)
        lockgate.log_metric("train_acc", float(model.score(X, Y)))
    RESOURCE_SECONDS.append(time.perf_counter() - started)
    RESOURCE_CPU.append(time.process_time() - cpu)
    RESOURCE_REQUESTS.append(_SENT[0] - sent)
    return model


def _durations(
    instance: dg.DagsterInstance, assets: list, resources: dict, step: str, runs: int
) -> tuple[list[float], list[float]]:
    """(step seconds, output-handling seconds) of each timed run."""
    steps, outputs = [], []
    for i in range(runs + 1):
        result = dg.materialize(assets, instance=instance, resources=resources)
        stamps = {r.dagster_event.event_type_value: r.timestamp for r in instance.all_logs(result.run_id)
                  if r.dagster_event is not None and r.step_key == step}
        if i:  # the first run warms up imports and migrations
            steps.append(stamps["STEP_SUCCESS"] - stamps["STEP_START"])
            outputs.append(stamps["HANDLED_OUTPUT"] - stamps["STEP_OUTPUT"])
    return steps, outputs


def _start_server(root: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """A ``lockgate server --auth`` process on a free port, and an API token for it."""
    import httpx
    from lockgate.server.auth.store import AuthStore

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db = f"sqlite:///{root / 'server.db'}"
    env = {**os.environ, "LOCKGATE_ADMIN_USERNAME": "bench", "LOCKGATE_ADMIN_PASSWORD": "bench-secret-1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockgate.cli.server", "--auth", "--backend-store-uri", db,
         "--artifacts-destination", str(root / "artifacts"), "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"lockgate server did not start (exit {proc.poll()})")
        time.sleep(0.2)
    return proc, url, AuthStore(db).create_token("bench", name="bench")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--server", action="store_true", help="track into a lockgate server over HTTP")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LOCKGATE_HOME"] = os.path.join(tmp, "home")
        server = None
        token = None
        if args.server:
            server, uri, token = _start_server(Path(tmp))
            _count_http_requests()
        else:
            uri = f"sqlite:///{tmp}/bench.db"
        try:
            with dg.instance_for_test() as instance:
                started = time.perf_counter()
                base, base_io = _durations(instance, [untracked_model], {}, "untracked_model", args.runs)
                tracked, tracked_io = _durations(
                    instance, [tracked_model],
                    {"lockgate": LockgateResource(tracking_uri=uri, token=token),
                     "model_io": TimedModelIOManager(tracking_uri=uri, token=token)},
                    "tracked_model", args.runs,
                )
                wall = time.perf_counter() - started
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
    ms = lambda values: statistics.median(values) * 1000
    resource = ms(RESOURCE_SECONDS[1:])
    added = resource + ms(tracked_io) - ms(base_io)
    where = "a lockgate server over HTTP" if args.server else "SQLite in-process"
    print(f"store: {where}")
    print(f"resource (start_run + param + metric + end): median {resource:7.1f} ms")
    print(f"output handling: Lockgate {ms(tracked_io):7.1f} ms  vs filesystem {ms(base_io):7.1f} ms")
    print(f"whole step:      tracked  {ms(tracked):7.1f} ms  vs untracked {ms(base):7.1f} ms  (noisy)")
    print(f"added per materialized asset: {added:7.1f} ms  (target < 50 ms; n={args.runs}, wall {wall:.1f}s)")
    cpu = ms(RESOURCE_CPU[1:]) + ms(OUTPUT_CPU[1:])
    print(f"Lockgate CPU time per asset:  {cpu:7.1f} ms  (resource {ms(RESOURCE_CPU[1:]):.1f} + "
          f"IO manager {ms(OUTPUT_CPU[1:]):.1f}; load average {os.getloadavg()[0]:.1f})")
    if args.server:
        res_req = statistics.median(RESOURCE_REQUESTS[1:])
        out_req = statistics.median(OUTPUT_REQUESTS[1:])
        print(f"HTTP requests per asset:      {res_req + out_req:7.0f}     (resource {res_req:.0f} + "
              f"IO manager {out_req:.0f})")
    return 0 if added < 50 else 1


if __name__ == "__main__":
    sys.exit(main())
