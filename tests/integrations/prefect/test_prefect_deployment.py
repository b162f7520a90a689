"""A tracked flow run from a deployment by a real process worker carries deployment and work pool tags."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import lockgate
import pytest
from lockgate.entities import RunStatus

pytestmark = pytest.mark.slow  # starts a real worker, which runs the flow in a subprocess

FLOW_SOURCE = textwrap.dedent(
    '''
    from prefect import flow

    import lockgate
    from lockgate_prefect import tracked


    @flow
    @tracked(experiment="deployed")
    def nightly(size: int = 3) -> str:
        lockgate.log_metric("size", size)
        return lockgate.active_run().info.run_id
    '''
)


def test_deployment_and_work_pool_are_tagged_on_the_run(tmp_path: Path, lockgate_home: Path) -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL

    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "nightly.py").write_text(FLOW_SOURCE)
    pool = f"lg-pool-{uuid.uuid4().hex[:6]}"
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    remote = flow.from_source(source=str(tmp_path / "project"), entrypoint="nightly.py:nightly")
    remote.deploy(name="weekly", work_pool_name=pool, print_next_steps=False)
    flow_run = run_deployment("nightly/weekly", parameters={"size": 5}, timeout=0)

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "LOCKGATE_HOME": str(lockgate_home)}
    worker = subprocess.run(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--run-once", "--type", "process"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False,
    )
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            state = client.read_flow_run(flow_run.id).state
            if state is not None and state.is_final():
                break
            assert time.monotonic() < deadline, worker.stdout[-3000:] + worker.stderr[-3000:]
            time.sleep(0.5)
    assert state.is_completed(), f"{state}\n{worker.stdout[-3000:]}\n{worker.stderr[-3000:]}"

    client_lg = lockgate.LockgateClient()
    experiment = client_lg.get_experiment_by_name("deployed")
    assert experiment is not None
    from prefect_helpers import run_ids_of

    (run_id,) = run_ids_of(experiment.experiment_id, uri=client_lg.tracking_uri)
    run = client_lg.get_run(run_id)
    assert run.info.status == RunStatus.FINISHED
    assert run.data.params == {"size": "5"}
    assert run.data.metrics == {"size": 5.0}
    tags = run.data.tags
    assert tags["lockgate.prefect.flow_run_id"] == str(flow_run.id)
    assert tags["lockgate.prefect.deployment"] == "weekly"
    assert tags["lockgate.prefect.deployment_id"] == str(flow_run.deployment_id)
    assert tags["lockgate.prefect.work_pool"] == pool
    assert tags["lockgate.prefect.work_queue"] == "default"
