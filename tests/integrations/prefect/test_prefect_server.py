"""Credentials blocks against a real Lockgate server with authentication: right, wrong, unreachable."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect import flow

import lockgate
from lockgate.entities import RunStatus
from lockgate.errors import ServiceUnavailable, Unauthenticated
from lockgate_prefect import LockgateCredentials, tracked
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
