"""Registry tasks on a real Prefect server and a real SQLite registry, with real sklearn models."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import lockgate
import pytest
from lockgate.errors import GateFailed, NotFound, ServiceUnavailable
from lockgate.registry.verdicts import verdict_markdown_table
from lockgate.webhooks.payload import event_payload
from lockgate_prefect import (
    EVENT_GATE_FAILED,
    EVENT_PROMOTED,
    EVENT_TYPE_LABEL,
    BatchPrediction,
    LockgateCredentials,
    batch_predict,
    load_model,
    promote_model,
    register_model_version,
    wait_for_promotion,
)
from lockgate_prefect.artifacts import artifact_key
from prefect import flow
from prefect_helpers import markdown_artifacts, wait_for_prefect_events

GATE = {"rules": [
    {"type": "metric_threshold", "metric": "val_auc", "min": 0.7},
    {"type": "beats_champion", "metric": "val_auc", "margin": 0.01},
]}


def _model_name() -> str:
    return f"churn-{uuid.uuid4().hex[:8]}"


def _logged_model(val_auc: float, *, status_end: bool = True) -> str:
    """A finished run holding a fitted LogisticRegression under 'model' and its val_auc."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    y = (X["a"] > 9).astype(int)
    with lockgate.start_run() as run:
        lockgate.log_metric("val_auc", val_auc)
        lockgate.sklearn.log_model(LogisticRegression().fit(X, y), name="model", input_example=X.head(2))
    return run.info.run_id


def _guarded(name: str) -> lockgate.LockgateClient:
    client = lockgate.LockgateClient()
    client.create_registered_model(name)
    client.set_gate_policy(name, alias="champion", policy=GATE)
    return client


def test_register_model_version_links_the_flow_run_and_a_retry_gets_its_version_back() -> None:
    from prefect import task

    name = _model_name()
    run_id = _logged_model(0.8)
    attempts: list[int] = []

    @task(retries=1, retry_delay_seconds=0)
    def register_then_fail_once() -> int:
        version = register_model_version.fn(name, run_id=run_id, artifact_path="model")
        attempts.append(int(version.version))
        if len(attempts) == 1:
            raise RuntimeError("the worker died after registering")  # the task is retried
        return int(version.version)

    @flow
    def register() -> tuple[int, int, str]:
        from prefect.runtime import flow_run

        retried = register_then_fail_once()
        again = register_model_version(name, run_id=run_id, artifact_path="model")  # a new step
        return retried, again.version, flow_run.id

    retried, again, flow_run_id = register()
    # The retry got back the version its first attempt made; another call is a new version (MLflow).
    assert attempts == [1, 1]
    assert (retried, again) == (1, 2)
    mv = lockgate.LockgateClient().get_model_version(name, 1)
    assert mv.run_id == run_id
    assert mv.source == f"runs:/{run_id}/model"
    assert mv.tags["lockgate.prefect.flow_run_id"] == flow_run_id
    assert mv.run_link is not None and mv.run_link.endswith(f"/runs/flow-run/{flow_run_id}")
    assert len(lockgate.LockgateClient().search_model_versions(f"name = '{name}'")) == 2


def test_register_uses_the_tracked_flows_run_by_default() -> None:
    from lockgate_prefect import tracked

    name = _model_name()

    @flow
    @tracked(experiment="register-default")
    def train_and_register() -> tuple[str, int]:
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        X = np.arange(20.0).reshape(-1, 1)
        lockgate.sklearn.log_model(LogisticRegression().fit(X, X[:, 0] > 9), name="clf")
        version = register_model_version(name, artifact_path="clf")
        return lockgate.active_run().info.run_id, version.version  # type: ignore[union-attr]

    run_id, version = train_and_register()
    assert lockgate.LockgateClient().get_model_version(name, version).run_id == run_id


def test_register_refuses_unknown_runs_and_paths_without_a_model() -> None:
    name = _model_name()
    run_id = _logged_model(0.8)

    @flow
    def bad_run() -> None:
        register_model_version(name, run_id="0" * 32)

    @flow
    def bad_path() -> None:
        register_model_version(name, run_id=run_id, artifact_path="no-such-dir")

    state = bad_run(return_state=True)
    assert state.is_failed() and "NotFound" in state.message and "0" * 32 in state.message
    state = bad_path(return_state=True)
    assert state.is_failed()
    assert "has no logged model at 'no-such-dir'" in state.message
    assert "model" in state.message  # the message lists what the run does have


def test_promote_passes_the_gate_emits_an_event_and_publishes_verdicts() -> None:
    name = _model_name()
    client = _guarded(name)
    run_id = _logged_model(0.82)
    since = datetime.now(timezone.utc)

    @flow
    def promote() -> bool:
        version = register_model_version(name, run_id=run_id)
        decision = promote_model(name, version=version.version, alias="champion")
        return decision.changed

    assert promote() is True
    assert client.get_model_version_by_alias(name, "champion").version == 1
    (event,) = wait_for_prefect_events(EVENT_PROMOTED, resource_id=f"lockgate.model.{name}", since=since)
    assert event.resource["prefect.resource.name"] == name
    assert event.resource["lockgate.alias"] == "champion"
    assert event.payload["version"] == 1
    assert event.payload["previous_version"] is None
    assert [v["passed"] for v in event.payload["verdicts"]] == [True, True]
    # the webhook payload of the same registry event, field for field
    (move,) = [e for e in client.get_events(model_name=name) if e.type.value == "ALIAS_SET"]
    expected = event_payload(move)
    assert {k: event.payload[k] for k in expected} == expected
    assert event.payload["type"] == "model_version.promoted" == event.resource[EVENT_TYPE_LABEL]
    assert event.payload["types"] == ["model_version.promoted", "alias.set"]
    assert event.payload["event_id"] == move.id and event.payload["model"] == name
    assert event.payload["actor"] == client.user and event.payload["version"] == 1
    assert [r["passed"] for r in event.payload["evidence"]["results"]] == [True, True]
    roles = {r["prefect.resource.role"]: r.id for r in event.related}
    assert roles["model-version"] == f"lockgate.model-version.{name}.1"
    assert roles["lockgate-run"] == f"lockgate.run.{run_id}"
    assert "flow-run" in roles  # Prefect links the event to the flow run that sent it
    (report,) = markdown_artifacts(artifact_key(name, "@champion"))
    assert report.startswith(f"### Lockgate gate: {name} v1 → @champion: **promoted**\n")
    decision = client.evaluate_gate(name, version=1, alias="champion")
    assert verdict_markdown_table(decision.results) in report  # the core's one verdict table
    assert "| val_auc >= 0.7 | pass | 0.82 |" in report


def test_a_refused_gate_fails_the_task_with_every_verdict_and_is_not_retried() -> None:
    name = _model_name()
    client = _guarded(name)
    champion_run = _logged_model(0.85)
    weaker_run = _logged_model(0.8)
    since = datetime.now(timezone.utc)

    @flow
    def challenge() -> None:
        first = register_model_version(name, run_id=champion_run)
        promote_model(name, version=first.version, alias="champion")
        second = register_model_version(name, run_id=weaker_run)
        promote_model.with_options(retries=2, retry_delay_seconds=0)(
            name, version=second.version, alias="champion"
        )

    state = challenge(return_state=True)
    assert state.is_failed()
    # The flow failed because the task did; the task's own state carries every verdict.
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as prefect_client:
        task_runs = prefect_client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    (failed,) = [t for t in task_runs if t.state.is_failed()]
    message = failed.state.message
    assert "GateFailed" in message
    assert "refused version 2 (1 of 2 rules failed; current holder v1)" in message
    assert "PASS val_auc >= 0.7: val_auc=0.8 is within bounds" in message
    assert "FAIL val_auc beats holder by 0.01" in message
    assert failed.run_count == 1  # GateFailed is never retried
    assert client.get_model_version_by_alias(name, "champion").version == 1
    rejected = [e for e in client.get_events(model_name=name) if e.type.value == "GATE_REJECTED"]
    assert len(rejected) == 1
    (event,) = wait_for_prefect_events(EVENT_GATE_FAILED, resource_id=f"lockgate.model.{name}", since=since)
    assert event.payload["version"] == 2 and event.payload["holder_version"] == 1
    assert event.payload["failed_rules"] == ["val_auc beats holder by 0.01 (higher is better)"]
    expected = event_payload(rejected[0])
    assert {k: event.payload[k] for k in expected} == expected
    assert event.payload["type"] == "gate.rejected" == event.resource[EVENT_TYPE_LABEL]
    assert event.payload["event_id"] == rejected[0].id and event.payload["actor"] == client.user
    assert event.payload["model"] == name and event.payload["version"] == 2
    assert event.payload["evidence"]["passed"] is False
    assert [r["passed"] for r in event.payload["evidence"]["results"]] == [True, False]
    reports = markdown_artifacts(artifact_key(name, "@champion"))
    assert len(reports) == 2 and "**refused**" in reports[-1]
    assert "| val_auc beats holder by 0.01 (higher is better) | FAIL |" in reports[-1]
    assert "In Lockgate:" not in reports[-1]  # a database store has no UI pages to link to


def test_gate_failure_raises_gatefailed_to_the_calling_flow() -> None:
    name = _model_name()
    _guarded(name)
    run_id = _logged_model(0.5)  # below the 0.7 threshold

    @flow
    def handle() -> str:
        version = register_model_version(name, run_id=run_id)
        try:
            promote_model(name, version=version.version, alias="champion")
        except GateFailed as exc:
            return exc.message
        return "promoted?"

    message = handle()
    assert "FAIL val_auc >= 0.7: val_auc=0.5 is below 0.7" in message
    assert "PASS val_auc beats holder by 0.01" in message


def test_gate_failed_event_is_the_new_refusal_after_a_long_history() -> None:
    """The refusal a promotion causes is found past the oldest 1000 events of the model."""
    from lockgate.registry.entities import EventType, GateTarget
    from lockgate.store.sql.registry_store import SqlRegistryStore

    name = _model_name()
    client = _guarded(name)
    run_id = _logged_model(0.5)  # below the 0.7 threshold
    version = client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id)
    # 1,200 earlier refusals of the same version, written in one transaction.
    store = SqlRegistryStore(client.tracking_uri)
    model_id = store.move_snapshot(name, version.version, GateTarget.of(alias="champion")).model_id
    earlier = store.append_events(model_id, name, [
        {"type": EventType.GATE_REJECTED, "version": version.version, "to_version": version.version,
         "alias": "champion", "actor": "earlier", "evidence": {"passed": False, "results": []}}
        for _ in range(1200)])
    since = datetime.now(timezone.utc)

    @flow
    def challenge() -> None:
        promote_model(name, version=version.version, alias="champion")

    assert challenge(return_state=True).is_failed()
    (newest,) = client.get_events(after_id=earlier[-1], model_name=name, types=["GATE_REJECTED"])
    assert newest.actor == client.user
    (event,) = wait_for_prefect_events(EVENT_GATE_FAILED, resource_id=f"lockgate.model.{name}", since=since)
    assert event.payload["event_id"] == newest.id and event.payload["actor"] == client.user
    assert event.payload["evidence"]["passed"] is False and len(event.payload["evidence"]["results"]) == 2


def test_promoting_the_holder_again_changes_nothing_and_reuses_the_event_id() -> None:
    name = _model_name()
    _guarded(name)
    run_id = _logged_model(0.9)
    since = datetime.now(timezone.utc)

    @flow
    def twice() -> tuple[bool, bool]:
        version = register_model_version(name, run_id=run_id)
        first = promote_model(name, version=version.version, alias="champion")
        second = promote_model(name, version=version.version, alias="champion")
        return first.changed, second.changed

    assert twice() == (True, False)
    events = wait_for_prefect_events(EVENT_PROMOTED, resource_id=f"lockgate.model.{name}", since=since)
    time.sleep(1.0)  # a duplicate, if any, would have arrived by now
    events = wait_for_prefect_events(EVENT_PROMOTED, resource_id=f"lockgate.model.{name}", since=since)
    assert len({e.id for e in events}) == 1


@pytest.mark.parametrize(
    ("model", "version", "expected"),
    [("no-such-model", 1, "no-such-model"), (None, 7, "7")],
)
def test_promote_unknown_model_or_version_is_not_found(model: str | None, version: int, expected: str) -> None:
    name = _model_name()
    _guarded(name)

    @flow
    def promote() -> None:
        promote_model(model or name, version=version, alias="champion")

    state = promote(return_state=True)
    assert state.is_failed()
    assert "NotFound" in state.message and expected in state.message


def test_load_model_and_batch_predict_resolve_the_champion(tmp_path: Path) -> None:
    import pandas as pd

    name = _model_name()
    client = lockgate.LockgateClient()
    client.create_registered_model(name)
    run_id = _logged_model(0.9)
    version = client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias(name, "champion", version.version)
    pd.DataFrame({"a": [1.0, 15.0, 3.0], "b": [0.0, 1.0, 2.0]}).to_csv(tmp_path / "in.csv", index=False)

    @flow
    def score() -> tuple[list[int], object]:
        model = load_model(f"models:/{name}@champion")
        direct = model.predict(pd.DataFrame({"a": [0.0, 19.0], "b": [0.0, 0.0]}))
        result = batch_predict(
            f"models:/{name}@champion", input_path=tmp_path / "in.csv", output_path=tmp_path / "out" / "scored.csv"
        )
        on_dask = batch_predict(f"models:/{name}@champion", input_path=tmp_path / "in.csv",
                                output_path=tmp_path / "out" / "dask.parquet", engine="dask")
        batch_predict(f"models:/{name}@champion", input_path=tmp_path / "in.csv",
                      output_path=tmp_path / "out" / "scored.jsonl")
        return [int(v) for v in direct], (result, on_dask)

    direct, (result, on_dask) = score()
    assert direct == [0, 1]
    assert isinstance(result, BatchPrediction)  # the result type is importable from lockgate_prefect
    assert result.rows == 3 and result.model_version == 1
    scored = pd.read_csv(tmp_path / "out" / "scored.csv")
    assert list(scored.columns) == ["a", "b", "prediction"]
    assert scored["prediction"].tolist() == [0, 1, 0]
    # The dask engine scores the same file to the same predictions.
    assert on_dask.rows == 3 and on_dask.model_version == 1
    assert pd.read_parquet(tmp_path / "out" / "dask.parquet")["prediction"].tolist() == [0, 1, 0]
    assert pd.read_json(tmp_path / "out" / "scored.jsonl", lines=True)["prediction"].tolist() == [0, 1, 0]


def test_load_and_score_unknown_models_and_files_fail_clearly(tmp_path: Path) -> None:
    name = _model_name()
    lockgate.LockgateClient().create_registered_model(name)

    @flow
    def missing_alias() -> None:
        load_model(f"models:/{name}@champion")

    @flow
    def missing_input() -> None:
        run_id = _logged_model(0.9)
        batch_predict(f"runs:/{run_id}/model", input_path=tmp_path / "nope.csv", output_path=tmp_path / "o.csv")

    state = missing_alias(return_state=True)
    assert state.is_failed() and "NotFound" in state.message and "champion" in state.message
    state = missing_input(return_state=True)
    assert state.is_failed() and "nope.csv" in state.message and "does not exist" in state.message

    @flow
    def unknown_engine() -> None:
        run_id = _logged_model(0.9)
        batch_predict(f"runs:/{run_id}/model", input_path=tmp_path / "in.csv", output_path=tmp_path / "o.csv",
                      engine="ray")

    state = unknown_engine(return_state=True)
    assert state.is_failed() and "engine must be one of ['local', 'spark', 'dask'], not 'ray'" in state.message


def test_wait_for_promotion_returns_the_event_that_moves_the_alias() -> None:
    name = _model_name()
    client = lockgate.LockgateClient()
    client.create_registered_model(name)
    run_id = _logged_model(0.9)
    version = client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id)
    # The cursor is fixed before the mover starts: a task that Prefect starts late (a loaded
    # machine) would otherwise begin after the move and, rightly, wait for the next one.
    start_after = client.get_latest_event_id(model_name=name)

    def promote_later() -> None:
        time.sleep(1.5)
        lockgate.LockgateClient().set_registered_model_alias(name, "other", version.version)
        lockgate.LockgateClient().set_registered_model_alias(name, "champion", version.version)

    @flow
    def wait() -> object:
        return wait_for_promotion(name, alias="champion", after_event_id=start_after, timeout_seconds=30,
                                  poll_interval_seconds=0.2)

    mover = threading.Thread(target=promote_later)
    mover.start()
    event = wait()
    mover.join()
    assert event.type.value == "ALIAS_SET"
    assert event.alias == "champion"
    assert (event.to_version or event.version) == version.version


def test_wait_for_promotion_times_out_and_refuses_unknown_models() -> None:
    name = _model_name()
    lockgate.LockgateClient().create_registered_model(name)

    @flow
    def wait(model: str) -> None:
        wait_for_promotion(model, alias="champion", timeout_seconds=0.5, poll_interval_seconds=0.1)

    state = wait(name, return_state=True)
    assert state.is_failed() and "TimeoutError" in state.message and "within 0.5s" in state.message
    state = wait("never-registered", return_state=True)
    assert state.is_failed() and "TimeoutError" in state.message
    assert "'never-registered' was never registered" in state.message


def test_wait_for_promotion_can_start_before_the_model_is_registered() -> None:
    name = _model_name()
    run_id = _logged_model(0.9)

    def register_and_promote_later() -> None:
        time.sleep(4)  # the watcher must find the model unregistered; Prefect may start its task late
        client = lockgate.LockgateClient()
        version = client.register_model(name, source=f"runs:/{run_id}/model", run_id=run_id)
        client.set_registered_model_alias(name, "champion", version.version)

    @flow
    def watch() -> object:
        return wait_for_promotion(name, alias="champion", timeout_seconds=60, poll_interval_seconds=0.2)

    trainer = threading.Thread(target=register_and_promote_later)
    trainer.start()
    state = watch(return_state=True)
    trainer.join()
    assert state.is_completed(), state.message
    event = state.result()
    assert event.type.value == "ALIAS_SET" and event.alias == "champion" and event.model_name == name
    assert (event.to_version or event.version) == 1


def test_tasks_use_the_credentials_block_and_fail_clearly_when_it_is_unreachable(tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    name = _model_name()
    lockgate.LockgateClient(other).create_registered_model(name)
    dead = LockgateCredentials(tracking_uri="postgresql+psycopg://postgres@127.0.0.1:1/nothing")

    @flow
    def timeouts(credentials: LockgateCredentials) -> None:
        wait_for_promotion(name, alias="champion", timeout_seconds=0.2, poll_interval_seconds=0.1,
                           credentials=credentials)

    state = timeouts(LockgateCredentials(tracking_uri=other), return_state=True)
    assert "TimeoutError" in state.message  # found the model in the block's store
    state = timeouts(dead, return_state=True)
    assert state.is_failed() and "ServiceUnavailable" in state.message
    with pytest.raises(ServiceUnavailable):
        dead.get_client().get_registered_model(name)


def test_wrong_credentials_are_refused_by_every_task() -> None:
    @flow
    def with_name() -> None:
        promote_model("m", version=1, alias="champion", credentials="no-such-block")

    @flow
    def with_dict() -> None:
        load_model("models:/m@champion", credentials={"tracking_uri": "sqlite://"})  # type: ignore[arg-type]

    state = with_name(return_state=True)
    assert state.is_failed() and "NotFound" in state.message and "no-such-block" in state.message
    state = with_dict(return_state=True)
    assert state.is_failed() and "InvalidArgument" in state.message and "LockgateCredentials" in state.message
    with pytest.raises(NotFound):
        promote_model.fn("m", version=1, alias="champion", credentials="no-such-block")
