"""``tracked`` flows and tasks on a real Prefect server, logging to a real SQLite store."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import lockgate
import pytest
from lockgate.entities import Run, RunStatus
from lockgate_prefect import LockgateCredentials, tracked
from prefect import flow, task
from prefect.states import Failed
from prefect_helpers import run_ids_of


def _runs(experiment: str, *, uri: str | None = None) -> list[Run]:
    client = lockgate.LockgateClient(uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"experiment {experiment!r} was not created"
    return [client.get_run(run_id) for run_id in run_ids_of(exp.experiment_id, uri=client.tracking_uri)]


def _only(runs: list[Run], **tags: str) -> Run:
    found = [r for r in runs if all(r.data.tags.get(k) == v for k, v in tags.items())]
    assert len(found) == 1, f"expected one run with {tags}, found {len(found)}"
    return found[0]


@task
def train(lr: float) -> str:
    auc = 0.5 + lr
    lockgate.log_metric("val_auc", auc)
    active = lockgate.active_run()
    assert active is not None
    return active.info.run_id


@task
def evaluate(step: int) -> str:
    lockgate.log_metric("eval_loss", 1.0 / (step + 1), step=step)
    active = lockgate.active_run()
    assert active is not None
    return active.info.run_id


@flow
@tracked(experiment="churn")
def retrain(lr: float = 0.1, layers: list[int] | None = None) -> str:
    first = train(lr)
    futures = [evaluate.submit(i) for i in range(3)]
    seen = {f.result() for f in futures}
    assert seen == {first}
    return first


def test_flow_run_is_a_lockgate_run_with_params_tags_and_task_metrics() -> None:
    state = retrain(lr=0.25, layers=[8, 4], return_state=True)
    assert state.is_completed()
    run_id = state.result()
    flow_run_id = str(state.state_details.flow_run_id)

    run = lockgate.get_run(run_id)
    assert run.info.status == RunStatus.FINISHED
    assert run.info.end_time is not None
    assert run.info.run_name == _flow_run_name(flow_run_id)
    assert run.data.params == {"lr": "0.25", "layers": "[8, 4]"}
    tags = run.data.tags
    assert tags["lockgate.orchestrator"] == "prefect"
    assert tags["lockgate.prefect.flow_name"] == "retrain"
    assert tags["lockgate.prefect.flow_run_id"] == flow_run_id
    assert tags["lockgate.prefect.flow_run_url"].endswith(f"/runs/flow-run/{flow_run_id}")
    assert tags["lockgate.prefect.attempts"] == "1"
    assert "lockgate.prefect.deployment" not in tags  # not run from a deployment
    # A plain task called directly and three submitted to worker threads all saw the run.
    assert run.data.metrics["val_auc"] == pytest.approx(0.75)
    history = lockgate.LockgateClient().get_metric_history(run_id, "eval_loss")
    assert sorted(m.step for m in history) == [0, 1, 2]
    assert [r.info.run_id for r in _runs("churn")] == [run_id]


def _flow_run_name(flow_run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).name


@task
@tracked
def featurize(rows: int) -> str:
    lockgate.log_metric("rows", rows)
    return lockgate.active_run().info.run_id  # type: ignore[union-attr]


@flow
@tracked
def prepare(rows: int = 10) -> str:
    featurize(rows)
    return lockgate.active_run().info.run_id  # type: ignore[union-attr]


@flow
@tracked(experiment="nesting")
def pipeline() -> dict[str, str]:
    sub = prepare(rows=5)
    own = featurize(7)
    return {"me": lockgate.active_run().info.run_id, "sub": sub, "task": own}  # type: ignore[union-attr]


def test_subflows_and_tracked_tasks_are_nested_runs() -> None:
    ids = pipeline()
    runs = {r.info.run_id: r for r in _runs("nesting")}
    assert len(runs) == 4  # the flow, the subflow, the subflow's task, the flow's task
    top = runs[ids["me"]]
    assert top.info.parent_run_id is None
    sub = runs[ids["sub"]]
    assert sub.info.parent_run_id == top.info.run_id
    assert sub.data.tags["lockgate.prefect.flow_name"] == "prepare"
    assert sub.data.params == {"rows": "5"}
    own_task = runs[ids["task"]]
    assert own_task.info.parent_run_id == top.info.run_id
    assert own_task.data.params == {"rows": "7"}
    assert own_task.data.metrics == {"rows": 7.0}
    assert own_task.data.tags["lockgate.prefect.task_name"] == "featurize"
    assert own_task.data.tags["lockgate.prefect.flow_run_id"] == top.data.tags["lockgate.prefect.flow_run_id"]
    (sub_task,) = [r for r in runs.values() if r.info.parent_run_id == sub.info.run_id]
    assert sub_task.data.metrics == {"rows": 5.0}
    assert all(r.info.status == RunStatus.FINISHED for r in runs.values())


def test_tracked_task_outside_a_tracked_flow_is_a_top_level_run() -> None:
    @flow
    def plain() -> str:
        return featurize(3)

    run_id = plain()
    run = lockgate.get_run(run_id)
    assert run.info.parent_run_id is None
    assert run.data.tags["lockgate.prefect.task_name"] == "featurize"
    assert lockgate.LockgateClient().get_experiment(run.info.experiment_id).name == "plain"


@flow
@tracked(experiment="failing")
def explode(message: str = "boom") -> None:
    lockgate.log_metric("before", 1.0)
    raise ValueError(message)


def test_failed_flow_marks_the_run_failed_and_records_the_error() -> None:
    state = explode(return_state=True)
    assert state.is_failed()
    (run,) = _runs("failing")
    assert run.info.status == RunStatus.FAILED
    assert run.data.metrics == {"before": 1.0}
    assert run.data.tags["lockgate.prefect.attempt.1.error"] == "ValueError: boom"


@task
def fails() -> None:
    raise RuntimeError("task failed")


@flow
@tracked(experiment="returned-state")
def returns_failed_state() -> object:
    return Failed(message="declared failure")


@flow
@tracked(experiment="returned-future")
def returns_failed_future() -> object:
    return fails.submit()


@pytest.mark.parametrize(
    ("flow_fn", "experiment"),
    [(returns_failed_state, "returned-state"), (returns_failed_future, "returned-future")],
)
def test_status_follows_a_returned_failed_state_or_future(flow_fn, experiment: str) -> None:  # type: ignore[no-untyped-def]
    state = flow_fn(return_state=True)
    assert state.is_failed()
    (run,) = _runs(experiment)
    assert run.info.status == RunStatus.FAILED


_attempts: dict[str, int] = {}


@flow(retries=2, retry_delay_seconds=0)
@tracked(experiment="retried")
def flaky(fail_times: int = 1) -> int:
    _attempts["flaky"] = _attempts.get("flaky", 0) + 1
    lockgate.log_metric("attempt", _attempts["flaky"], step=_attempts["flaky"])
    if _attempts["flaky"] <= fail_times:
        raise ConnectionError(f"transient failure {_attempts['flaky']}")
    return _attempts["flaky"]


def test_flow_retries_resume_one_run_and_record_each_attempt() -> None:
    _attempts.clear()
    state = flaky(fail_times=1, return_state=True)
    assert state.is_completed()
    (run,) = _runs("retried")
    assert run.info.status == RunStatus.FINISHED
    assert run.data.tags["lockgate.prefect.attempts"] == "2"
    assert run.data.tags["lockgate.prefect.attempt.1.error"] == "ConnectionError: transient failure 1"
    assert "lockgate.prefect.attempt.2.error" not in run.data.tags
    history = lockgate.LockgateClient().get_metric_history(run.info.run_id, "attempt")
    assert sorted(m.step for m in history) == [1, 2]


def test_exhausted_retries_end_the_run_failed() -> None:
    _attempts.clear()
    state = flaky(fail_times=5, return_state=True)
    assert state.is_failed()
    (run,) = _runs("retried")
    assert run.info.status == RunStatus.FAILED
    assert run.data.tags["lockgate.prefect.attempts"] == "3"
    assert {k for k in run.data.tags if k.endswith(".error")} == {
        f"lockgate.prefect.attempt.{n}.error" for n in (1, 2, 3)
    }


@task(retries=1, retry_delay_seconds=0)
@tracked
def flaky_task() -> str:
    _attempts["task"] = _attempts.get("task", 0) + 1
    if _attempts["task"] == 1:
        raise TimeoutError("slow disk")
    return lockgate.active_run().info.run_id  # type: ignore[union-attr]


@flow
@tracked(experiment="task-retries")
def with_flaky_task() -> str:
    return flaky_task()


def test_task_retries_resume_the_task_run() -> None:
    _attempts.clear()
    task_run_id = with_flaky_task()
    runs = _runs("task-retries")
    assert len(runs) == 2
    child = lockgate.get_run(task_run_id)
    assert child.info.parent_run_id is not None
    assert child.info.status == RunStatus.FINISHED
    assert child.data.tags["lockgate.prefect.attempts"] == "2"
    assert child.data.tags["lockgate.prefect.attempt.1.error"] == "TimeoutError: slow disk"


class Opaque:
    def __repr__(self) -> str:
        return "Opaque(handle=42)"


@flow
@tracked(experiment="odd-params")
def odd(thing: object = None, mapping: dict | None = None, path: Path = Path("/data/in.csv")) -> str:
    return lockgate.active_run().info.run_id  # type: ignore[union-attr]


def test_non_json_parameters_are_logged_as_repr_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    state = odd(thing=Opaque(), mapping={"lock": Opaque(), "n": 1}, return_state=True)
    assert state.is_completed()
    run = lockgate.get_run(state.result())
    assert run.data.params["thing"] == "Opaque(handle=42)"
    assert run.data.params["mapping"] == "{'lock': Opaque(handle=42), 'n': 1}"
    assert run.data.params["path"] == "/data/in.csv"
    warnings = [r.getMessage() for r in caplog.records if "as its repr" in r.getMessage()]
    assert len(warnings) == 2
    assert any("'thing'" in w and "Opaque is not JSON-serialisable" in w for w in warnings)


def test_tracked_can_also_wrap_an_existing_task() -> None:
    @task(name="scored-step")
    def step(n: int) -> str:
        return lockgate.active_run().info.run_id  # type: ignore[union-attr]

    tracked_step = tracked(step)

    @flow
    @tracked(experiment="wrapped-task")
    def outer() -> tuple[str, str]:
        return tracked_step(2), lockgate.active_run().info.run_id  # type: ignore[union-attr]

    inner, top = outer()
    child = lockgate.get_run(inner)
    assert child.info.parent_run_id == top
    assert child.data.params == {"n": "2"}
    assert child.data.tags["lockgate.prefect.task_name"] == "scored-step"


def test_tracked_can_also_wrap_an_existing_flow() -> None:
    @flow(name="wrapped-late")
    def late(x: int = 1) -> str:
        lockgate.log_metric("x", x)
        return lockgate.active_run().info.run_id  # type: ignore[union-attr]

    tracked_late = tracked(late, experiment="late")
    run = lockgate.get_run(tracked_late(x=3))
    assert run.data.params == {"x": "3"}
    assert run.data.metrics == {"x": 3.0}
    assert run.data.tags["lockgate.prefect.flow_name"] == "wrapped-late"


@task
async def async_step(n: int) -> str:
    lockgate.log_metric("n", n)
    await asyncio.sleep(0)
    return lockgate.active_run().info.run_id  # type: ignore[union-attr]


@flow
@tracked(experiment="async")
async def async_flow(n: int = 2) -> tuple[str, str]:
    inner = await async_step(n)
    return inner, lockgate.active_run().info.run_id  # type: ignore[union-attr]


def test_async_flows_are_tracked() -> None:
    inner, outer = asyncio.run(async_flow(n=4))
    assert inner == outer
    run = lockgate.get_run(outer)
    assert run.info.status == RunStatus.FINISHED
    assert run.data.params == {"n": "4"}
    assert run.data.metrics == {"n": 4.0}


def test_active_run_is_restored_after_a_tracked_flow() -> None:
    with lockgate.start_run(run_name="notebook") as outer:
        child_id = retrain(lr=0.1)
        assert lockgate.active_run().info.run_id == outer.info.run_id  # type: ignore[union-attr]
    assert lockgate.get_run(child_id).info.parent_run_id == outer.info.run_id
    assert lockgate.active_run() is None


# ------------------------------------------------------------------ credentials


@flow
@tracked(experiment="elsewhere", credentials="lockgate-test-elsewhere")
def by_block_name() -> str:
    lockgate.log_metric("m", 1.0)
    return lockgate.active_run().info.run_id  # type: ignore[union-attr]


def test_credentials_block_name_points_the_flow_at_its_store(tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    LockgateCredentials(tracking_uri=other).save("lockgate-test-elsewhere", overwrite=True)
    run_id = by_block_name()
    run = lockgate.LockgateClient(other).get_run(run_id)
    assert run.data.metrics == {"m": 1.0}
    assert lockgate.LockgateClient().get_experiment_by_name("elsewhere") is None
    assert lockgate.get_tracking_uri() != other  # restored after the flow


def test_missing_credentials_block_fails_the_flow_clearly() -> None:
    @flow
    @tracked(credentials="no-such-block")
    def orphan() -> None:
        return None

    state = orphan(return_state=True)
    assert state.is_failed()
    assert "NotFound: No saved LockgateCredentials block named 'no-such-block'" in state.message


def test_unreachable_store_fails_the_flow_with_service_unavailable() -> None:
    dead = LockgateCredentials(tracking_uri="postgresql+psycopg://postgres@127.0.0.1:1/nothing")

    @flow
    @tracked(credentials=dead)
    def unreachable() -> None:
        return None

    state = unreachable(return_state=True)
    assert state.is_failed()
    assert "ServiceUnavailable" in state.message
    assert "127.0.0.1:1" not in lockgate.get_tracking_uri()  # the block's URI was not left behind
    assert "127.0.0.1:1" in state.message or "could not" in state.message.lower()


@flow
@tracked(experiment="cancelled")
def gives_up() -> object:
    from prefect.states import Cancelled

    return Cancelled(message="operator stopped it")


def test_a_cancelled_outcome_marks_the_run_killed() -> None:
    state = gives_up(return_state=True)
    assert state.is_cancelled()
    (run,) = _runs("cancelled")
    assert run.info.status == RunStatus.KILLED


def test_termination_signals_and_interrupts_count_as_killed() -> None:
    from lockgate_prefect.tracking import _status_of_exception
    from prefect.exceptions import TerminationSignal

    assert _status_of_exception(TerminationSignal(signal=15)) == RunStatus.KILLED
    assert _status_of_exception(KeyboardInterrupt()) == RunStatus.KILLED
    assert _status_of_exception(ValueError("x")) == RunStatus.FAILED


@flow
@tracked(experiment="long-params")
def huge(text: str = "") -> str:
    return lockgate.active_run().info.run_id  # type: ignore[union-attr]


def test_over_long_parameters_are_cut_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    run = lockgate.get_run(huge("x" * 10_000))
    assert len(run.data.params["text"]) == 6000 and run.data.params["text"].endswith("...")
    assert any("cut to 6000" in r.getMessage() for r in caplog.records)
