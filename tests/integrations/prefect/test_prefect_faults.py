"""Faults between Prefect and a ``lockgate server`` process: down, restarted, wrong or revoked token.

The serve-process side (a worker that keeps working after a run failed on a down server) is
in test_prefect_topology.py; here flows run in-process against a real server process.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import lockgate
import pytest
from lockgate.entities import RunStatus
from lockgate_prefect import LockgateCredentials, promote_model, tracked
from lockgate_prefect.tasks import _retry_unless_permanent
from prefect import flow, task
from prefect_helpers import LiveLockgate


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLockgate]:
    """One ``lockgate server --auth`` process for the module (restarted by some tests)."""
    server = LiveLockgate(tmp_path_factory.mktemp("lockgate-faults"))
    server.process.start()
    yield server
    server.process.stop()


def _registered(live: LiveLockgate) -> str:
    """A registered model with version 1, unguarded; its name."""
    client = live.client()
    name = f"faults-{uuid.uuid4().hex[:8]}"
    run = client.create_run(client.get_or_create_experiment("faults").experiment_id)
    client.register_model(name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    return name


def _task_runs(state: Any) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return list(client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        ))


def test_a_server_down_when_a_task_starts_fails_it_retryably_naming_the_server(live: LiveLockgate) -> None:
    name = _registered(live)
    block = LockgateCredentials(tracking_uri=live.url, token=live.token)
    failures: list[str] = []

    def restart_then_decide(task: Any, task_run: Any, state: Any) -> bool:
        # Prefect asks this before retrying: bring the server back, then apply the task's own rule.
        failures.append(state.message or "")
        live.process.start()
        return _retry_unless_permanent(task, task_run, state)

    @flow
    def promote_while_down() -> int:
        decision = promote_model.with_options(
            retries=1, retry_delay_seconds=0, retry_condition_fn=restart_then_decide
        )(name, version=1, alias="champion", credentials=block)
        return decision.version

    live.process.stop()
    state = promote_while_down(return_state=True)
    assert state.is_completed(), state.message
    (failure,) = failures
    assert "ServiceUnavailable" in failure
    assert f"Could not reach the Lockgate server at {live.url}" in failure
    (task_run,) = _task_runs(state)
    assert task_run.run_count == 2  # the first attempt failed, the retry promoted
    assert live.client().get_model_version_by_alias(name, "champion").version == 1


def test_without_retries_a_down_server_fails_the_flow_naming_it(live: LiveLockgate) -> None:
    block = LockgateCredentials(tracking_uri=live.url, token=live.token)

    @flow
    @tracked(experiment="faults", credentials=block)
    def train() -> None:
        lockgate.log_metric("auc", 0.9)

    live.process.stop()
    try:
        state = train(return_state=True)
    finally:
        live.process.start()
    assert state.is_failed()
    assert "ServiceUnavailable" in state.message
    assert f"Could not reach the Lockgate server at {live.url}" in state.message


def test_a_server_restarted_mid_run_loses_nothing(live: LiveLockgate) -> None:
    block = LockgateCredentials(tracking_uri=live.url, token=live.token)

    @task
    def epoch(step: int) -> None:
        lockgate.log_metric("loss", 1.0 / (step + 1), step=step)

    @flow
    @tracked(experiment="faults", credentials=block)
    def train() -> str:
        epoch(0)
        live.restart()  # the server goes away and comes back between two tasks
        epoch(1)
        run = lockgate.active_run()
        assert run is not None
        return run.info.run_id

    state = train(return_state=True)
    assert state.is_completed(), state.message
    run_id = state.result()
    client = live.client()
    assert client.get_run(run_id).info.status == RunStatus.FINISHED
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5)]


@pytest.mark.parametrize("which", ["wrong", "revoked"])
def test_a_wrong_or_revoked_token_is_refused_clearly_and_not_retried(live: LiveLockgate, which: str) -> None:
    name = _registered(live)
    if which == "wrong":
        token = "lg_" + uuid.uuid4().hex
    else:
        label = f"short-lived-{uuid.uuid4().hex[:6]}"
        token = live.auth.create_token("prefect-bot", name=label)
        assert lockgate.LockgateClient(live.url, token=token).get_registered_model(name).name == name
        (info,) = [t for t in live.auth.list_tokens("prefect-bot") if t.name == label]
        live.auth.revoke_token(info.id)
    block = LockgateCredentials(tracking_uri=live.url, token=token)

    @flow
    def promote() -> None:
        promote_model.with_options(retries=3, retry_delay_seconds=0)(
            name, version=1, alias="champion", credentials=block
        )

    state = promote(return_state=True)
    assert state.is_failed()
    assert "Unauthenticated" in state.message and "Invalid API token" in state.message
    (task_run,) = _task_runs(state)
    assert task_run.run_count == 1  # a refused token is not retried
    assert live.client().get_model_version(name, 1).aliases == []
