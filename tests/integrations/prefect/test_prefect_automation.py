"""The README's Automation: a lockgate.model.promoted event runs a scoring deployment."""

from __future__ import annotations

import textwrap
import time
import uuid
from pathlib import Path

import lockgate
import pytest
from lockgate_prefect import promote_model
from prefect import flow

pytestmark = pytest.mark.slow  # waits for Prefect's trigger service to act on the event

SCORING = textwrap.dedent(
    '''
    from prefect import flow


    @flow
    def score_churn() -> None:
        pass
    '''
)


def test_promotion_event_triggers_a_deployment_through_an_automation(tmp_path: Path) -> None:
    from prefect.automations import Automation
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.events.actions import RunDeployment
    from prefect.events.schemas.automations import EventTrigger

    name = f"churn-{uuid.uuid4().hex[:8]}"
    (tmp_path / "scoring").mkdir()
    (tmp_path / "scoring" / "score.py").write_text(SCORING)
    pool = f"lg-pool-{uuid.uuid4().hex[:6]}"
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    scoring_id = flow.from_source(source=str(tmp_path / "scoring"), entrypoint="score.py:score_churn").deploy(
        name=f"rescore-{name}", work_pool_name=pool, print_next_steps=False
    )

    # As in integrations/prefect/README.md, with this test's model and deployment.
    automation = Automation(
        name=f"rescore on new champion of {name}",
        trigger=EventTrigger(
            expect={"lockgate.model.promoted"},
            match={"prefect.resource.id": f"lockgate.model.{name}", "lockgate.alias": "champion"},
            posture="Reactive",
            threshold=1,
        ),
        actions=[RunDeployment(source="selected", deployment_id=scoring_id)],
    ).create()
    assert automation.id is not None

    client_lg = lockgate.LockgateClient()
    client_lg.create_registered_model(name)
    with lockgate.start_run() as run:
        lockgate.log_metric("val_auc", 0.9)
    client_lg.create_model_version(name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    time.sleep(2)  # let the trigger service load the new automation before the event comes

    @flow
    def promote() -> None:
        promote_model(name, version=1, alias="champion")

    promote()
    deadline = time.monotonic() + 90
    runs: list = []  # type: ignore[type-arg]
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline and not runs:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[scoring_id]))
            )
            time.sleep(0.5)
    assert len(runs) == 1, "the automation did not run the scoring deployment"
    assert runs[0].deployment_id == scoring_id
