"""Added wall time per Airflow task instance from Lockgate's automatic tracking (run by hand).

Runs the same 20-task DAG with ``dag.test()`` untracked and tracked (the listener plugin,
``[lockgate] auto_track = True``), alternating, and reports the median difference per task,
plus the time spent inside the listener's hooks per task (the same cost measured directly,
which stays readable on a busy machine where whole-DAG timings swing by seconds).
Target: under 50 ms per task on SQLite.

    python bench/airflow_overhead_bench.py [--rounds 5] [--tasks 20]

Needs the Airflow environment (``lockgate[airflow]``); uses a throwaway AIRFLOW_HOME and
LOCKGATE_HOME.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAG_SOURCE = '''
import datetime
import lockgate
from airflow.sdk import dag, task

@dag(dag_id="lg_bench", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False)
def lg_bench():
    @task
    def step(i: int) -> int:
        lockgate.log_metric("i", i) if lockgate.active_run() else None
        return i

    previous = None
    for i in range({tasks}):
        current = step.override(task_id=f"step_{{i:02d}}")(i)
        if previous is not None:
            previous >> current
        previous = current

dag_object = lg_bench()
'''


def _setup(tasks: int) -> Path:
    work = Path(tempfile.mkdtemp(prefix="lockgate-airflow-bench-"))
    dags = work / "dags"
    dags.mkdir()
    (dags / "lg_bench.py").write_text(DAG_SOURCE.format(tasks=tasks))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(work / "airflow"),
            "LOCKGATE_HOME": str(work / "lockgate"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                [{"name": "bench", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                  "kwargs": {"path": str(dags), "refresh_interval": 0}}]
            ),
        }
    )
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    return dags


def _load_dag(dags: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("lg_bench", dags / "lg_bench.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag_object


_in_hooks: list[float] = []


def _instrument_listener() -> None:
    """Time spent inside the listener's hooks: a second measure, immune to the host's noise."""
    import functools

    from lockgate_airflow import listeners

    for name in ("on_task_instance_running", "on_task_instance_success", "on_task_instance_failed"):
        original = getattr(listeners, name)

        @functools.wraps(original)  # copies pluggy's hookimpl marker too
        def timed(*args, __original=original, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return __original(*args, **kwargs)
            finally:
                _in_hooks.append(time.perf_counter() - started)

        setattr(listeners, name, timed)


def _timed_run(dag, tracked: bool) -> float:  # type: ignore[no-untyped-def]
    os.environ["AIRFLOW__LOCKGATE__AUTO_TRACK"] = "True" if tracked else "False"
    started = time.perf_counter()
    dag_run = dag.test()
    elapsed = time.perf_counter() - started
    if str(getattr(dag_run.state, "value", dag_run.state)) != "success":
        raise SystemExit(f"bench DAG run ended {dag_run.state}; see the log above")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=20)
    args = parser.parse_args()
    dag = _load_dag(_setup(args.tasks))
    _instrument_listener()
    _timed_run(dag, tracked=False)  # warm-up: API server, imports, SQLite migrations
    _timed_run(dag, tracked=True)
    untracked, tracked = [], []
    _in_hooks.clear()
    for _ in range(args.rounds):
        untracked.append(_timed_run(dag, tracked=False))
        tracked.append(_timed_run(dag, tracked=True))
    in_hooks_ms_per_task = sum(_in_hooks) / (args.rounds * args.tasks) * 1000
    from lockgate import LockgateClient

    runs = list(LockgateClient().search_runs(["lg_bench"], max_results=10000))
    expected = (args.rounds + 1) * (args.tasks + 1)
    per_task_ms = [(t - u) / args.tasks * 1000 for t, u in zip(tracked, untracked)]
    print(json.dumps({
        "tasks": args.tasks,
        "rounds": args.rounds,
        "untracked_s_median": round(statistics.median(untracked), 3),
        "tracked_s_median": round(statistics.median(tracked), 3),
        "added_ms_per_task_median": round(statistics.median(per_task_ms), 1),
        "added_ms_per_task_each_round": [round(x, 1) for x in per_task_ms],
        "in_listener_ms_per_task": round(in_hooks_ms_per_task, 1),
        "lockgate_runs_written": len(runs),
        "lockgate_runs_expected": expected,
        "target_ms_per_task": 50,
    }, indent=2))


if __name__ == "__main__":
    main()
