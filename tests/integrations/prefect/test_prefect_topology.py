"""The example deployment in production topology: a Prefect server process, ``serve()`` running
examples/prefect/retrain_churn.py on its schedule and on demand, on the embedded store and
against a ``lockgate server`` process with auth on and the token in a LockgateCredentials block.

Each scenario runs the pipeline twice: the scheduled run trains a good model (promoted to
``@champion``), the on-demand run a worse one (refused by the gate). Everything is read back
through the Lockgate client and Prefect's own API.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lockgate
import pandas as pd
import pytest
from lockgate.entities import RunStatus
from prefect_helpers import LiveLockgate, prefect_server_process, wait_for_prefect_events

pytestmark = pytest.mark.slow  # real server processes; each flow run is a subprocess

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "prefect" / "retrain_churn.py"
DEPLOYMENT = "retrain-churn/weekly"
WORSE = {"max_depth": 1, "label_noise": 0.48}  # val_auc 0.81: fails both rules
BLOCK = "churn-prod"


@pytest.fixture(autouse=True)
def _prefect() -> Iterator[None]:
    """This module talks to its own Prefect server process, not the in-process test harness."""
    yield


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``prefect server start`` as a process; yields its API URL."""
    with prefect_server_process(tmp_path_factory.mktemp("prefect-server") / "home") as server:
        yield server.url + "/api"


@pytest.fixture
def prefect_here(prefect_api: str) -> Iterator[str]:
    """Point this test process's Prefect client at the server process."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_api}):
        yield prefect_api


@pytest.fixture(scope="module")
def lockgate_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLockgate]:
    """One Lockgate server process for the module."""
    live = LiveLockgate(tmp_path_factory.mktemp("lockgate-server"))
    live.process.start()
    yield live
    live.process.stop()


@contextmanager
def serving(
    prefect_api: str, tmp_path: Path, *, start_at: dt.datetime, env: dict[str, str]
) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """``python retrain_churn.py --start-at ...`` (the example's ``serve()``) as its own process.

    Yields the process's log and the process; on exit the process is stopped and the deployment deleted, so
    the next scenario serves a fresh one.
    """
    log = tmp_path / "serve.log"
    full_env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "PREFECT_HOME": str(tmp_path / "serve-prefect-home"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "TMPDIR": str(tmp_path),
        **env,
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--start-at", start_at.isoformat()],
            cwd=EXAMPLE.parent, env=full_env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        yield log, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        with get_client(sync_client=True) as client:
            try:
                deployment = client.read_deployment_by_name(DEPLOYMENT)
            except ObjectNotFound:  # never served: nothing to delete
                deployment = None
            if deployment is not None:
                client.delete_deployment(deployment.id)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-5000:] if log.exists() else "(no output)"


def _wait_for_deployment(log: Path, *, before: dt.datetime) -> None:
    """Wait until ``serve()`` registered the deployment; it must be there before its first run."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        while dt.datetime.now(dt.timezone.utc) < before:
            try:
                client.read_deployment_by_name(DEPLOYMENT)
                return
            except ObjectNotFound:
                time.sleep(0.5)
    raise AssertionError(f"serve() had not registered {DEPLOYMENT} by its first run at {before}:\n{_tail(log)}")


def _scheduled_run(log: Path, *, timeout: float = 300.0) -> Any:
    """The deployment's first auto-scheduled flow run, once it has finished."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["weekly"]))
            )
            done = [r for r in runs if r.auto_scheduled and r.state is not None and r.state.is_final()]
            if done:
                return min(done, key=lambda r: r.expected_start_time)
            time.sleep(1.0)
    raise AssertionError(f"no scheduled run of {DEPLOYMENT} finished in {timeout:g}s:\n{_tail(log)}")


def _run_on_demand(log: Path, parameters: dict[str, Any]) -> Any:
    from prefect.deployments import run_deployment

    flow_run = run_deployment(DEPLOYMENT, parameters=parameters, timeout=300)
    assert flow_run.state is not None and flow_run.state.is_final(), _tail(log)
    return flow_run


def _task_names(flow_run_id: Any) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return sorted(r.name.rsplit("-", 1)[0] for r in runs)  # task run names are <task>-<suffix>


def _run_pipeline_twice(
    prefect_api: str, tmp_path: Path, env: dict[str, str],
    then: Callable[[Path, subprocess.Popen[bytes], Any, Any, dt.datetime], None] | None = None,
) -> tuple[Any, Any, dt.datetime]:
    """The scheduled (good) run, then the on-demand (worse) one; ``then`` runs while still serving."""
    since = dt.datetime.now(dt.timezone.utc)
    # The first weekly run is due a minute from now: time for the serve process to start and
    # register the deployment on a busy machine, and the scheduler to create the run.
    start_at = since + dt.timedelta(seconds=60)
    with serving(prefect_api, tmp_path, start_at=start_at, env=env) as (log, proc):
        _wait_for_deployment(log, before=start_at)
        good = _scheduled_run(log)
        assert good.state.is_completed(), f"{good.state}\n{_tail(log)}"
        bad = _run_on_demand(log, {**WORSE, "workdir": str(tmp_path / "on-demand")})
        assert abs((good.expected_start_time - start_at).total_seconds()) < 1
        if then is not None:
            then(log, proc, good, bad, since)
    return good, bad, since


def _assert_pipeline_outcome(client: lockgate.LockgateClient, good: Any, bad: Any, since: dt.datetime,
                             scored_dir: Path, on_demand_dir: Path) -> None:
    # Prefect: the scheduled run completed, the on-demand one Failed with the gate's message.
    assert not bad.auto_scheduled
    assert bad.state.is_failed()
    assert "GateFailed" in bad.state.message
    assert "refused version 2 (2 of 2 rules failed; current holder v1)" in bad.state.message
    (refused,) = wait_for_prefect_events(
        "lockgate.gate.failed", resource_id="lockgate.model.churn", since=since, timeout=60
    )
    (promoted,) = wait_for_prefect_events(
        "lockgate.model.promoted", resource_id="lockgate.model.churn", since=since, timeout=60
    )
    assert promoted.payload["version"] == 1 and promoted.payload["alias"] == "champion"
    assert refused.payload["version"] == 2 and refused.payload["holder_version"] == 1
    assert refused.payload["failed_rules"] == ["val_auc >= 0.9", "val_auc beats holder by 0 (higher is better)"]
    assert f"prefect.flow-run.{bad.id}" in {r.id for r in refused.related}
    assert f"prefect.flow-run.{good.id}" in {r.id for r in promoted.related}

    # Scoring ran only in the run that made the champion, and only with the champion.
    assert "batch_predict" in _task_names(good.id)
    assert "batch_predict" not in _task_names(bad.id)
    scored = pd.read_csv(scored_dir / "scored_v1.csv")
    assert len(scored) == 200 and set(scored["prediction"].unique()) <= {0, 1}
    assert not (on_demand_dir / "scored_v2.csv").exists()

    # Lockgate: two versions, the champion stayed on 1, one promotion and one refusal with verdicts.
    assert [v.version for v in client.search_model_versions("name = 'churn'")] in ([1, 2], [2, 1])
    assert client.get_model_version_by_alias("churn", "champion").version == 1
    history = client.get_promotion_history("churn", alias="champion")
    assert [(e.type.value, e.to_version or e.version) for e in history] == [("ALIAS_SET", 1), ("GATE_REJECTED", 2)]
    verdicts = history[1].evidence["results"]  # type: ignore[index]
    assert [(r["rule"], r["passed"]) for r in verdicts] == [
        ("val_auc >= 0.9", False), ("val_auc beats holder by 0 (higher is better)", False),
    ]

    # The tracking runs carry the Prefect identifiers of the flow runs that made them.
    (good_run,) = client.search_runs_by_tags("churn", {"lockgate.prefect.flow_run_id": str(good.id)})
    (bad_run,) = client.search_runs_by_tags("churn", {"lockgate.prefect.flow_run_id": str(bad.id)})
    assert good_run.info.status == RunStatus.FINISHED and bad_run.info.status == RunStatus.FAILED
    for run, flow_run in ((good_run, good), (bad_run, bad)):
        tags = run.data.tags
        assert tags["lockgate.prefect.deployment"] == "weekly"
        assert tags["lockgate.prefect.deployment_id"] == str(flow_run.deployment_id)
        assert tags["lockgate.prefect.flow_name"] == "retrain-churn"
    assert good_run.data.tags["lockgate.batch_predict.model_version"] == "1"
    assert "lockgate.batch_predict.model_uri" not in bad_run.data.tags
    assert bad_run.data.params == {"max_depth": "1", "label_noise": "0.48", "workdir": str(on_demand_dir)}
    assert client.get_model_version("churn", 1).run_id == good_run.info.run_id
    assert client.get_model_version("churn", 2).run_id == bad_run.info.run_id
    assert good_run.data.metrics["val_auc"] >= 0.9 > bad_run.data.metrics["val_auc"]


def test_served_deployment_on_the_embedded_store(prefect_here: str, tmp_path: Path) -> None:
    good, bad, since = _run_pipeline_twice(prefect_here, tmp_path, env={})
    # The serve process and this test share LOCKGATE_HOME: the embedded SQLite store.
    _assert_pipeline_outcome(lockgate.LockgateClient(), good, bad, since,
                             tmp_path / "lockgate-churn", tmp_path / "on-demand")


def test_served_deployment_against_a_lockgate_server(
    prefect_here: str, lockgate_live: LiveLockgate, tmp_path: Path
) -> None:
    from lockgate_prefect import LockgateCredentials

    LockgateCredentials(tracking_uri=lockgate_live.url, token=lockgate_live.token).save(BLOCK, overwrite=True)
    worker_home = tmp_path / "worker-lockgate-home"
    env = {"LOCKGATE_PREFECT_CREDENTIALS": BLOCK, "LOCKGATE_HOME": str(worker_home)}
    later: dict[str, Any] = {}

    def check_then_take_the_server_down(
        log: Path, proc: subprocess.Popen[bytes], good: Any, bad: Any, since: dt.datetime
    ) -> None:
        _assert_pipeline_outcome(lockgate_live.client(), good, bad, since,
                                 tmp_path / "lockgate-churn", tmp_path / "on-demand")
        # Fault: the Lockgate server is down when the next run starts. That run fails naming
        # the server; the serve process keeps polling and runs the next one once it is back.
        lockgate_live.process.stop()
        try:
            later["down"] = _run_on_demand(log, {"workdir": str(tmp_path / "while-down")})
        finally:
            lockgate_live.process.start()
        assert proc.poll() is None, _tail(log)
        later["after"] = _run_on_demand(log, {"workdir": str(tmp_path / "after")})

    _run_pipeline_twice(prefect_here, tmp_path, env=env, then=check_then_take_the_server_down)
    down, after = later["down"], later["after"]
    assert down.state.is_failed()
    assert "ServiceUnavailable" in down.state.message
    assert f"Could not reach the Lockgate server at {lockgate_live.url}" in down.state.message
    assert after.state.is_completed(), after.state.message
    # The recovered run trained the good model again: as good as the champion, so promoted.
    assert lockgate_live.client().get_model_version_by_alias("churn", "champion").version == 3
    assert not list(worker_home.rglob("*.db"))  # nothing was tracked on the worker's disk
    # With auth on, the registry recorded the token's user, not the worker's login name.
    history = lockgate_live.client().get_promotion_history("churn", alias="champion")
    assert [e.to_version or e.version for e in history] == [1, 2, 3]
    assert {e.actor for e in history} == {"prefect-bot"}
