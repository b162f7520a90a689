"""Several processes writing one database at once lose nothing and see no lock errors."""

from __future__ import annotations

import multiprocessing as mp

import pytest
from lockgate import LockgateClient

WRITERS = 4
RUNS_PER_WRITER = 8
POINTS = 10


def _writer(uri: str, experiment_id: str, worker: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    try:
        client = LockgateClient(uri)
        for i in range(RUNS_PER_WRITER):
            run = client.create_run(experiment_id, run_name=f"w{worker}-{i}")
            client.log_params(run.info.run_id, {"worker": worker, "i": i})
            for step in range(POINTS):
                client.log_metric(run.info.run_id, "loss", float(step), step=step)
            client.set_terminated(run.info.run_id)
        queue.put(("ok", worker))
    except Exception as exc:  # noqa: BLE001 - report to the parent rather than dying silently
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_parallel_writers_lose_nothing(backend: str, request: pytest.FixtureRequest) -> None:
    uri = request.getfixturevalue("sqlite_uri" if backend == "sqlite" else "postgres_uri")
    client = LockgateClient(uri)
    exp = client.create_experiment("parallel")
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(uri, exp, w, queue)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(status == "ok" for status, _ in results), results
    runs = client.search_runs([exp], max_results=1000)
    assert len(runs) == WRITERS * RUNS_PER_WRITER
    assert all(r.info.status.value == "FINISHED" for r in runs)
    assert all(r.data.metrics == {"loss": float(POINTS - 1)} for r in runs)
    sample = runs[0].info.run_id
    assert [m.step for m in client.get_metric_history(sample, "loss")] == list(range(POINTS))


def test_two_processes_migrate_a_fresh_sqlite_file(sqlite_uri: str) -> None:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(sqlite_uri, "0", w, queue)) for w in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(status == "ok" for status, _ in results), results
    assert len(LockgateClient(sqlite_uri).search_runs(["0"], max_results=1000)) == 2 * RUNS_PER_WRITER
