"""What ``tracked`` adds to a Prefect flow run and to a task run, on SQLite or over HTTP.

Run by hand (not a test), in an environment with Prefect (``tests-prefect``):

    python bench/prefect_overhead_bench.py              # 30 flow runs, 20 tasks per flow
    python bench/prefect_overhead_bench.py --flows 50 --tasks 40
    python bench/prefect_overhead_bench.py --server     # against a `lockgate server` process

It starts a temporary Prefect server (``prefect_test_harness``), then times, side by side:

* a trivial flow, untracked vs ``@flow @tracked`` (the run, its tags and two params);
* a flow calling N trivial tasks, untracked vs ``@task @tracked`` (one nested run each),
  reported per task;
* the same tracked function called outside Prefect, which isolates Lockgate's own share.

With ``--server`` the store is a ``lockgate server`` started as its own process (SQLite
behind it, auth on), reached over HTTP the way workers reach a shared server: the token is
in a ``LockgateCredentials`` block named by ``LOCKGATE_PREFECT_CREDENTIALS``. The number of
HTTP requests sent to the Lockgate server per tracked flow and per tracked task is printed
beside the times.

Besides the end-to-end differences (noisy: a Prefect flow run itself takes a second or
more, with large swings on a busy machine), it reports the time spent inside ``tracked``
itself (opening and closing the Lockgate run), measured directly per run.

Target (issue 7, issue 20 for HTTP): under 50 ms added per tracked flow and per tracked
task. Medians are reported because a busy machine produces a few slow outliers, and the
variants are timed alternately so that a change in load affects both.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TARGET_MS = 50.0


def _paired(plain: Callable[[], Any], tracked: Callable[[], Any], repeat: int) -> tuple[list[float], list[float]]:
    """Times of both variants, alternated so that drift in machine load hits both alike."""
    plain()  # warm imports, the engine, prepared statements and Prefect's client
    tracked()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((plain, times[0]), (tracked, times[1])):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1000)
    return times


def _instrument(tracking: Any) -> list[float]:
    """Record the wall time tracked() spends opening and closing each run (ms, one per run)."""
    spent: list[float] = []
    cls = tracking._Tracking
    original_open, original_close = cls.open, cls.close

    def timed_open(self: Any) -> None:
        start = time.perf_counter()
        original_open(self)
        self._bench_ms = (time.perf_counter() - start) * 1000

    def timed_close(self: Any, *args: Any, **kwargs: Any) -> None:
        start = time.perf_counter()
        original_close(self, *args, **kwargs)
        spent.append(getattr(self, "_bench_ms", 0.0) + (time.perf_counter() - start) * 1000)

    cls.open, cls.close = timed_open, timed_close
    return spent


class RequestCounter:
    """Counts the HTTP requests httpx sends to one server (the Lockgate server, not Prefect's)."""

    def __init__(self) -> None:
        self.prefix: str | None = None
        self.count = 0

    def install(self) -> None:
        import httpx

        original = httpx.Client.send
        counter = self

        def send(client: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
            if counter.prefix is not None and str(request.url).startswith(counter.prefix):
                counter.count += 1
            return original(client, request, **kwargs)

        httpx.Client.send = send  # type: ignore[assignment]


def _counted(fn: Callable[[], Any], counter: RequestCounter, counts: list[int]) -> Callable[[], Any]:
    def call() -> Any:
        before = counter.count
        try:
            return fn()
        finally:
            counts.append(counter.count - before)

    return call


@contextmanager
def _lockgate_server(root: Path) -> Iterator[tuple[str, str]]:
    """A ``lockgate server --auth`` process on a free port; yields (URL, API token)."""
    import httpx
    from lockgate.server.auth.store import AuthStore

    db = f"sqlite:///{root / 'server.db'}"
    auth = AuthStore(db)
    auth.create_user("bench", "a-long-password", admin=True)
    token = auth.create_token("bench", name="bench")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    lockgate_cli = str(Path(sys.executable).parent / "lockgate")
    proc = subprocess.Popen(
        [lockgate_cli, "server", "--backend-store-uri", db, "--artifacts-destination",
         str(root / "artifacts"), "--port", str(port), "--auth", "--no-access-log", "--log-level", "warning"],
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"lockgate server did not start at {url}")
            time.sleep(0.2)
        yield url, token
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flows", type=int, default=30, help="flow runs per variant (default 30)")
    parser.add_argument("--tasks", type=int, default=20, help="tasks per flow run in the task test (default 20)")
    parser.add_argument("--server", action="store_true", help="track to a lockgate server process over HTTP")
    args = parser.parse_args()
    with _store(args.server) as where:
        _bench(args, where)


@contextmanager
def _store(server: bool) -> Iterator[tuple[str, str | None, str | None]]:
    """(description, server URL, token): the SQLite default, or a server process."""
    home = tempfile.mkdtemp(prefix="lockgate-prefect-bench-")
    os.environ["LOCKGATE_HOME"] = home
    if not server:
        yield f"sqlite under {home}", None, None
        return
    with _lockgate_server(Path(home)) as (url, token):
        yield f"lockgate server at {url} (HTTP, auth on)", url, token


def _bench(args: argparse.Namespace, where: tuple[str, str | None, str | None]) -> None:
    description, server_url, token = where

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    import lockgate
    from lockgate_prefect import tracked, tracking
    from prefect import flow, task
    from prefect.testing.utilities import prefect_test_harness

    spent = _instrument(tracking)
    counter = RequestCounter()
    counter.install()
    counter.prefix = server_url
    flow_requests: list[int] = []
    task_requests: list[int] = []

    n_tasks = args.tasks

    @flow
    def plain_flow(a: int = 1, b: str = "x") -> int:
        return a

    @flow(name="tracked-flow")
    @tracked(experiment="bench-flows")
    def tracked_flow(a: int = 1, b: str = "x") -> int:
        return a

    @task
    def plain_task(i: int) -> int:
        return i

    @task
    @tracked
    def tracked_task(i: int) -> int:
        return i

    @flow
    def many_plain() -> int:
        return sum(plain_task(i) for i in range(n_tasks))

    @flow
    def many_tracked() -> int:
        return sum(tracked_task(i) for i in range(n_tasks))

    def bare(a: int = 1, b: str = "x") -> int:
        return a

    tracked_bare = tracked(bare, experiment="bench-bare")

    print(f"Lockgate store: {description}")
    with prefect_test_harness(server_startup_timeout=180):
        if server_url is not None:
            from lockgate_prefect import LockgateCredentials
            from lockgate_prefect.credentials import CREDENTIALS_ENV

            LockgateCredentials(tracking_uri=server_url, token=token).save(  # type: ignore[arg-type]
                "bench", overwrite=True
            )
            os.environ[CREDENTIALS_ENV] = "bench"
        flow_plain, flow_tracked = _paired(
            plain_flow, _counted(tracked_flow, counter, flow_requests), args.flows
        )
        in_flow = list(spent)
        spent.clear()
        tasks_plain, tasks_tracked = _paired(
            many_plain, _counted(many_tracked, counter, task_requests), max(5, args.flows // 3)
        )
        in_task = list(spent)
        # Outside Prefect there is no block to load: point the fluent API at the store directly.
        if server_url is not None:
            os.environ.pop(CREDENTIALS_ENV)
            os.environ["LOCKGATE_TRACKING_URI"] = server_url
            os.environ["LOCKGATE_TRACKING_TOKEN"] = token or ""
        bare_plain, bare_tracked = _paired(bare, tracked_bare, 200)

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    per_flow = med(flow_tracked) - med(flow_plain)
    per_task = (med(tasks_tracked) - med(tasks_plain)) / n_tasks
    lockgate_only = med(bare_tracked) - med(bare_plain)
    rows = [
        ("flow run, untracked", med(flow_plain), ""),
        ("flow run, tracked", med(flow_tracked), ""),
        ("added per tracked flow (difference)", per_flow, "ok" if per_flow < TARGET_MS else "over"),
        ("  of which inside tracked()", med(in_flow), "ok" if med(in_flow) < TARGET_MS else "OVER TARGET"),
        (f"flow of {n_tasks} tasks, untracked", med(tasks_plain), ""),
        (f"flow of {n_tasks} tasks, tracked", med(tasks_tracked), ""),
        ("added per tracked task (difference)", per_task, "ok" if per_task < TARGET_MS else "over"),
        ("  of which inside tracked()", med(in_task), "ok" if med(in_task) < TARGET_MS else "OVER TARGET"),
        ("tracked plain call (Lockgate's share)", lockgate_only, ""),
    ]
    if server_url is not None:
        rows += [
            ("HTTP requests per tracked flow", float(med([float(n) for n in flow_requests])), ""),
            ("HTTP requests per tracked task", med([n / n_tasks for n in task_requests]), ""),
        ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'median ms':>10}  target < {TARGET_MS:g} ms")
    for label, value, verdict in rows:
        print(f"{label:<{width}}  {value:>10.1f}  {verdict}")
    runs = lockgate.LockgateClient(server_url, token=token).get_experiment_by_name("bench-flows")
    print(f"(tracked runs were written to experiment {runs.experiment_id if runs else '?'}: {description})")


if __name__ == "__main__":
    main()
