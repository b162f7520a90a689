"""Faults between Dagster and a Lockgate server: down, restarted mid-run, wrong or revoked token."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster_deployment import DagsterDeployment, LockgateServer
from lockgate import LockgateClient
from lockgate_dagster import LockgateModelIOManager, LockgateResource

SERVER_DEFS = Path(__file__).with_name("dagster_topology_defs.py")
IN_PROCESS: dict[str, Any] = {"execution": {"config": {"in_process": {}}}}


@pytest.fixture
def lockgate_server(tmp_path: Path) -> Iterator[LockgateServer]:
    server = LockgateServer(tmp_path / "lockgate-server").start()
    yield server
    server.stop()


def _fit() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])


def _failure(result: dg.ExecuteInProcessResult) -> dg.DagsterEvent:
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    return failure


def _root_error(error: Any) -> Any:
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    return error


def test_server_down_when_a_step_starts_fails_the_run_not_the_daemon(
    tmp_path: Path, lockgate_server: LockgateServer
) -> None:
    token = lockgate_server.create_token()
    env = {"LOCKGATE_SERVER_URL": lockgate_server.url, "LOCKGATE_SERVER_TOKEN": token}
    deployment = DagsterDeployment(tmp_path / "dagster-home", files={"churn_on_server": SERVER_DEFS}, env=env)
    lockgate_server.stop()
    deployment.start_daemon()
    try:
        down = deployment.launch("retrain_churn", location="churn_on_server", run_config=IN_PROCESS,
                                 run_id=str(uuid.uuid4()))
        assert deployment.wait_for_run(down).status == dg.DagsterRunStatus.FAILURE
        steps = deployment.step_outcomes(down)
        assert steps["features"] == "STEP_SUCCESS" and steps["churn_model"] == "STEP_FAILURE"
        (failure,) = [e.dagster_event for e in deployment.events(down, dg.DagsterEventType.STEP_FAILURE)]
        assert failure is not None
        error = _root_error(failure.step_failure_data.error)
        # Not a verdict and not a bug: a retryable outage naming the server.
        assert error.cls_name == "ServiceUnavailable"
        assert lockgate_server.url in error.message and "could not reach" in error.message.lower()
        assert deployment.daemon_alive()

        lockgate_server.start()  # back on the same port: the next run goes through
        again = deployment.launch("retrain_churn", location="churn_on_server", run_config=IN_PROCESS,
                                  run_id=str(uuid.uuid4()))
        assert deployment.wait_for_run(again).status == dg.DagsterRunStatus.SUCCESS
        assert deployment.daemon_alive()
    finally:
        deployment.stop()
    client = LockgateClient(lockgate_server.url, token=token)
    assert client.get_model_version_by_alias("churn_model", "champion").version == 1
    assert client.get_model_version("churn_model", 1).tags["lockgate.dagster.run_id"] == again


def test_server_restarted_mid_run_loses_nothing(
    lockgate_server: LockgateServer, instance: dg.DagsterInstance
) -> None:
    token = lockgate_server.create_token()
    connection: dict[str, Any] = {"tracking_uri": lockgate_server.url, "token": token}

    @dg.asset(io_manager_key="model_io")
    def restarted_model(context: dg.AssetExecutionContext, lockgate: LockgateResource):
        with lockgate.start_run(context):
            lockgate.log_metric("loss", 0.5, step=0)
            lockgate_server.stop()
            lockgate_server.start()  # same port, same database
            lockgate.log_metric("loss", 0.25, step=1)
            return _fit()

    result = dg.materialize(
        [restarted_model], instance=instance,
        resources={"lockgate": LockgateResource(**connection), "model_io": LockgateModelIOManager(**connection)},
    )
    assert result.success
    client = LockgateClient(lockgate_server.url, token=token)
    version = client.get_model_version("restarted_model", 1)
    history = client.get_metric_history(str(version.run_id), "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.25)]
    assert client.get_run(str(version.run_id)).info.status.value == "FINISHED"


@pytest.mark.parametrize("which", ["wrong", "revoked"])
def test_a_bad_token_fails_the_step_clearly(
    lockgate_server: LockgateServer, instance: dg.DagsterInstance, which: str
) -> None:
    token = lockgate_server.create_token(name="ci")
    if which == "wrong":
        token = "lg_" + "x" * 43
    else:
        LockgateClient(lockgate_server.url, token=token).search_experiments()  # valid until revoked
        lockgate_server.revoke_tokens("ci")

    @dg.asset
    def tracked(context: dg.AssetExecutionContext, lockgate: LockgateResource) -> int:
        with lockgate.start_run(context):
            return 1

    resource = LockgateResource(tracking_uri=lockgate_server.url, token=token)
    result = dg.materialize([tracked], instance=instance, resources={"lockgate": resource},
                            raise_on_error=False)
    assert not result.success
    error = _root_error(_failure(result).step_failure_data.error)
    assert error.cls_name == "Unauthenticated", error
    assert f"server at {lockgate_server.url} refused" in error.message
    assert "Invalid API token" in error.message
    assert token not in error.message  # the secret never lands in Dagster's event log
