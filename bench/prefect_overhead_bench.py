"""What ``tracked`` adds to a Prefect flow run and to a task run, on the SQLite default store.

Run by hand (not a test), in an environment with Prefect (``tests-prefect``):

    python bench/prefect_overhead_bench.py              # 30 flow runs, 20 tasks per flow
    python bench/prefect_overhead_bench.py --flows 50 --tasks 40

It starts a temporary Prefect server (``prefect_test_harness``), then times, side by side:

* a trivial flow, untracked vs ``@flow @tracked`` (the run, its tags and two params);
* a flow calling N trivial tasks, untracked vs ``@task @tracked`` (one nested run each),
  reported per task;
* the same tracked function called outside Prefect, which isolates Lockgate's own share.

Besides the end-to-end differences (noisy: a Prefect flow run itself takes a second or
more, with large swings on a busy machine), it reports the time spent inside ``tracked``
itself (opening and closing the Lockgate run), measured directly per run.

Target (issue 7): under 50 ms added per tracked flow and per tracked task. Medians are
reported because a busy machine produces a few slow outliers, and the variants are timed
alternately so that a change in load affects both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flows", type=int, default=30, help="flow runs per variant (default 30)")
    parser.add_argument("--tasks", type=int, default=20, help="tasks per flow run in the task test (default 20)")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="lockgate-prefect-bench-")
    os.environ["LOCKGATE_HOME"] = home
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    from prefect import flow, task
    from prefect.testing.utilities import prefect_test_harness

    import lockgate
    from lockgate_prefect import tracked, tracking

    spent = _instrument(tracking)

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

    print(f"Lockgate store: sqlite under {home}")
    with prefect_test_harness(server_startup_timeout=180):
        flow_plain, flow_tracked = _paired(plain_flow, tracked_flow, args.flows)
        in_flow = list(spent)
        spent.clear()
        tasks_plain, tasks_tracked = _paired(many_plain, many_tracked, max(5, args.flows // 3))
        in_task = list(spent)
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
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'median ms':>10}  target < {TARGET_MS:g} ms")
    for label, value, verdict in rows:
        print(f"{label:<{width}}  {value:>10.1f}  {verdict}")
    runs = lockgate.LockgateClient().get_experiment_by_name("bench-flows")
    print(f"(tracked runs were written to experiment {runs.experiment_id if runs else '?'} in {home})")


if __name__ == "__main__":
    main()
