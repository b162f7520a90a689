"""Credentials blocks against a real Lockgate server with authentication: right, wrong, unreachable."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import lockgate
import pytest
from lockgate.entities import RunStatus
from lockgate.errors import ServiceUnavailable, Unauthenticated
from lockgate_prefect import LockgateCredentials, tracked
from prefect import flow
from prefect_helpers import LockgateServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(server URL, a valid API token, the server's database URI) for an auth-enabled server."""
    from lockgate.server.auth.store import AuthStore

    db = f"sqlite:///{tmp_path / 'server.db'}"
    auth = AuthStore(db)
    auth.create_user("ci-bot", "a-long-password", admin=True)
    token = auth.create_token("ci-bot", name="prefect")
    with LockgateServer(db, str(tmp_path / "server-artifacts"), auth=True) as live:
        yield live.url, token, db


def test_a_block_with_a_token_reaches_the_server(server: tuple[str, str, str]) -> None:
    url, token, db = server
    client = LockgateCredentials(tracking_uri=url, token=token).get_client()
    exp_id = client.create_experiment("via-server")
    assert lockgate.LockgateClient(db).get_experiment(exp_id).name == "via-server"


def test_a_tracked_flow_logs_to_the_server_named_by_its_block(server: tuple[str, str, str]) -> None:
    url, token, db = server
    block = LockgateCredentials(tracking_uri=url, token=token)

    @flow
    @tracked(experiment="remote", credentials=block)
    def remote(lr: float = 0.2) -> str:
        lockgate.log_metric("auc", 0.9)
        return lockgate.active_run().info.run_id  # type: ignore[union-attr]

    run_id = remote()
    run = lockgate.LockgateClient(db).get_run(run_id)  # read straight from the server's database
    assert run.info.status == RunStatus.FINISHED
    assert run.data.params == {"lr": "0.2"}
    assert run.data.metrics == {"auc": 0.9}
    assert run.data.tags["lockgate.prefect.flow_name"] == "remote"
    import os

    assert "LOCKGATE_TRACKING_TOKEN" not in os.environ  # the token did not outlive the flow run


def test_a_wrong_token_fails_clearly(server: tuple[str, str, str]) -> None:
    url, _, _ = server
    block = LockgateCredentials(tracking_uri=url, token="lg_not-a-real-token")
    with pytest.raises(Unauthenticated, match="Invalid API token"):
        block.get_client().create_experiment("nope")

    @flow
    @tracked(experiment="denied", credentials=block)
    def denied() -> None:
        return None

    state = denied(return_state=True)
    assert state.is_failed()
    assert "Unauthenticated" in state.message and "Invalid API token" in state.message


def test_an_unreachable_server_is_service_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block is used: nothing listens
    block = LockgateCredentials(tracking_uri=f"http://127.0.0.1:{port}", token="t")
    with pytest.raises(ServiceUnavailable, match=f"127.0.0.1:{port}"):
        block.get_client().create_experiment("nowhere")

    @flow
    @tracked(credentials=block)
    def nowhere() -> None:
        return None

    state = nowhere(return_state=True)
    assert state.is_failed() and "ServiceUnavailable" in state.message


def test_a_gate_refused_by_the_server_fails_the_flow_with_gatefailed(server: tuple[str, str, str]) -> None:
    from datetime import datetime, timezone

    from lockgate_prefect import EVENT_GATE_FAILED, promote_model, register_model_version
    from lockgate_prefect.artifacts import artifact_key
    from prefect_helpers import markdown_artifacts, wait_for_prefect_events

    url, token, _ = server
    block = LockgateCredentials(tracking_uri=url, token=token)
    client = block.get_client()
    name = f"served-{uuid.uuid4().hex[:8]}"
    run = client.create_run(client.create_experiment("gated-over-rest"))
    client.log_metric(run.info.run_id, "val_auc", 0.61)
    client.set_gate_policy(
        client.create_registered_model(name).name, alias="champion",
        policy={"rules": [{"type": "metric_threshold", "metric": "val_auc", "min": 0.9}]},
    )
    since = datetime.now(timezone.utc)

    @flow
    def promote() -> None:
        version = register_model_version(
            name, run_id=run.info.run_id, source=f"runs:/{run.info.run_id}/model", credentials=block
        )
        promote_model(name, version=version.version, alias="champion", credentials=block)

    state = promote(return_state=True)
    assert state.is_failed()
    assert "GateFailed" in state.message and "AttributeError" not in state.message
    assert "FAIL val_auc >= 0.9: val_auc=0.61 is below 0.9" in state.message
    assert client.get_model_version(name, 1).aliases == []
    (event,) = wait_for_prefect_events(EVENT_GATE_FAILED, resource_id=f"lockgate.model.{name}", since=since)
    assert event.payload["version"] == 1 and event.payload["failed_rules"] == ["val_auc >= 0.9"]
    (report,) = markdown_artifacts(artifact_key(name, "@champion"))
    assert "**refused**" in report and "val_auc >= 0.9" in report
    # The artifact links to the version's and the run's pages in the Lockgate UI.
    assert f"[{name} v1]({url}/models/{name}/versions/1)" in report
    assert f"[run {run.info.run_id}]({url}/runs/{run.info.run_id})" in report
