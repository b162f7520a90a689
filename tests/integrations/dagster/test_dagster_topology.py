"""The example pipeline in Dagster's production topology, on the embedded store and on a server.

``dagster-daemon run`` serves the workspace, dequeues each submitted run and launches it in a
run-worker subprocess (QueuedRunCoordinator + DefaultRunLauncher); its sensor daemon runs the
promotion sensor. The job runs twice, a good model then a worse one (gate: val_auc >= 0.9 and
no worse than the champion). Everything is read back through the Lockgate client and
Dagster's own instance: the registry's versions, alias and history; the check's evaluation
and severity; which steps ran; which version ``scores`` loaded; the tracking runs' tags.
"""

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster_deployment import DagsterDeployment, LockgateServer
from lockgate import LockgateClient

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "dagster" / "retrain_churn.py"
SERVER_DEFS = Path(__file__).with_name("dagster_topology_defs.py")
SENSOR = "lockgate_churn_model_champion_promoted"
CHECK_STEP = "churn_model_lockgate_gate_champion"
# Steps run inside the launched run worker: one process per run keeps the session's wall time sane.
IN_PROCESS: dict[str, Any] = {"execution": {"config": {"in_process": {}}}}
WORSE = {**IN_PROCESS, "ops": {"churn_model": {"config": {"feature_count": 1}}}}


@pytest.fixture
def lockgate_server(tmp_path: Path) -> Iterator[LockgateServer]:
    server = LockgateServer(tmp_path / "lockgate-server").start()
    yield server
    server.stop()


def _deployment(tmp_path: Path, location: str, file: Path, env: dict[str, str]) -> DagsterDeployment:
    return DagsterDeployment(tmp_path / "dagster-home", files={location: file}, env=env)


def _loaded_versions(deployment: DagsterDeployment, run_id: str) -> list[Any]:
    """The model versions the run's ``scores`` step loaded (input metadata of LOADED_INPUT)."""
    found = []
    for entry in deployment.events(run_id, dg.DagsterEventType.LOADED_INPUT):
        event = entry.dagster_event
        assert event is not None
        data: Any = event.event_specific_data
        if event.step_key == "scores" and data.input_name == "churn_model":
            found.append(data.metadata["lockgate/version"].value)
    return found


def _retrain_twice(deployment: DagsterDeployment, client: LockgateClient, location: str) -> None:
    deployment.start_daemon()
    try:
        deployment.cli("sensor", "start", "-w", str(deployment.workspace), "-l", location, SENSOR)
        good = deployment.launch("retrain_churn", location=location, run_config=IN_PROCESS,
                                 run_id=str(uuid.uuid4()))
        first = deployment.wait_for_run(good)
        assert first.status == dg.DagsterRunStatus.SUCCESS, deployment.log.read_text()[-4000:]
        assert deployment.step_outcomes(good) == {
            "features": "STEP_SUCCESS", "churn_model": "STEP_SUCCESS",
            CHECK_STEP: "STEP_SUCCESS", "scores": "STEP_SUCCESS",
        }
        # The sensor daemon sees @champion move to 1 and requests one re-scoring run.
        (rescored,) = deployment.wait_for_runs_tagged({"lockgate/alias": "champion"}, 1)
        assert rescored.status == dg.DagsterRunStatus.SUCCESS
        assert rescored.tags["lockgate/version"] == "1"

        worse = deployment.launch("retrain_churn", location=location, run_config=WORSE,
                                  run_id=str(uuid.uuid4()))
        second = deployment.wait_for_run(worse)
        finished = time.time()
        assert second.status == dg.DagsterRunStatus.FAILURE
        steps = deployment.step_outcomes(worse)
        assert steps["churn_model"] == "STEP_SUCCESS" and steps[CHECK_STEP] == "STEP_FAILURE"
        assert steps.get("scores", "STEP_SKIPPED") == "STEP_SKIPPED"  # downstream never executed
        # Wait for a sensor tick after the refusal: it must not request another re-scoring.
        deployment.wait_for_sensor_tick(SENSOR, after=finished)
        assert len(deployment.runs_tagged({"lockgate/alias": "champion"})) == 1
        assert deployment.daemon_alive()
    finally:
        deployment.stop()

    # Dagster's side: the blocking check's evaluations, at ERROR severity, with the verdicts.
    (passed,) = deployment.check_evaluations(good)
    assert passed.passed and passed.metadata["lockgate/version"].value == 1
    (refused,) = deployment.check_evaluations(worse)
    assert not refused.passed and refused.severity == dg.AssetCheckSeverity.ERROR
    assert refused.metadata["lockgate/version"].value == 2
    assert refused.metadata["lockgate/rules_failed"].value == 1
    verdicts = {k[len("rule: "):]: v.value for k, v in refused.metadata.items() if k.startswith("rule: ")}
    assert sorted(v["passed"] for v in verdicts.values()) == [False, True]
    assert not [e for e in deployment.events(worse, dg.DagsterEventType.ASSET_MATERIALIZATION)
                if e.dagster_event is not None and e.dagster_event.asset_key == dg.AssetKey("scores")]
    # Scoring only ever loaded the champion, version 1.
    assert _loaded_versions(deployment, good) == [1]
    assert _loaded_versions(deployment, rescored.run_id) == [1]
    assert _loaded_versions(deployment, worse) == []

    # Lockgate's side: two versions, the champion on 1, one promotion and one refusal.
    versions = {v.version: v for v in client.search_model_versions(filter_string="name = 'churn_model'")}
    assert sorted(versions) == [1, 2]
    assert client.get_model_version_by_alias("churn_model", "champion").version == 1
    history = client.get_promotion_history("churn_model", alias="champion")
    assert [(e.type.value, e.to_version if e.to_version is not None else e.version) for e in history] == [
        ("ALIAS_SET", 1), ("GATE_REJECTED", 2),
    ]
    for event, outcome in zip(history, ([True, True], [False, True]), strict=True):
        assert event.evidence is not None
        assert sorted(r["passed"] for r in event.evidence["results"]) == outcome
        assert {r["rule"] for r in event.evidence["results"]} == set(verdicts)
    # The tracking runs carry the Dagster run id and asset key of the step that trained them.
    for version, dagster_run in ((versions[1], good), (versions[2], worse)):
        assert version.tags["lockgate.dagster.run_id"] == dagster_run
        run = client.get_run(str(version.run_id))
        assert run.data.tags["lockgate.dagster.run_id"] == dagster_run
        assert run.data.tags["lockgate.dagster.asset_key"] == "churn_model"
        assert run.data.tags["lockgate.orchestrator"] == "dagster"
        assert run.info.status.value == "FINISHED"
    assert client.get_run(str(versions[1].run_id)).data.metrics["val_auc"] >= 0.9
    assert client.get_run(str(versions[2].run_id)).data.params["feature_count"] == "1"


def test_daemon_runs_the_example_on_the_embedded_store(tmp_path: Path, lockgate_home: Path) -> None:
    deployment = _deployment(tmp_path, "retrain_churn", EXAMPLE, env={"LOCKGATE_HOME": str(lockgate_home)})
    _retrain_twice(deployment, LockgateClient(), "retrain_churn")


def test_daemon_runs_the_example_against_a_server_with_a_token(
    tmp_path: Path, lockgate_server: LockgateServer
) -> None:
    token = lockgate_server.create_token()
    env = {"LOCKGATE_SERVER_URL": lockgate_server.url, "LOCKGATE_SERVER_TOKEN": token}
    deployment = _deployment(tmp_path, "churn_on_server", SERVER_DEFS, env=env)
    client = LockgateClient(lockgate_server.url, token=token)
    _retrain_twice(deployment, client, "churn_on_server")
    # Everything went to the server: the embedded store of this test stayed empty.
    assert not (Path(deployment.env["LOCKGATE_HOME"]) / "lockgate.db").exists()
