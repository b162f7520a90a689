"""LockgateResource against a live Lockgate server (real uvicorn on a free port)."""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from lockgate import LockgateClient
from lockgate_dagster import LockgateResource


@pytest.fixture
def server_url(tmp_path: Path, sqlite_uri: str) -> Iterator[str]:
    import uvicorn
    from lockgate.server.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    artifacts = tmp_path / "server-artifacts"
    artifacts.mkdir()
    app = create_app(backend_store_uri=sqlite_uri, artifacts_destination=str(artifacts))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the Lockgate server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_resource_tracks_asset_runs_on_a_server(server_url: str, instance: dg.DagsterInstance) -> None:
    # The registry over HTTP lands separately; the IO manager, checks and sensor are tested on
    # SQLite and PostgreSQL until then.
    parts = dg.StaticPartitionsDefinition(["eu|2024-01", "x" * 600])

    @dg.asset(partitions_def=parts)
    def served_model(context: dg.AssetExecutionContext, lockgate: LockgateResource) -> None:
        with lockgate.start_run(context):
            lockgate.log_metric("val_auc", 0.93)
            lockgate.log_param("solver", "lbfgs")

    resource = LockgateResource(tracking_uri=server_url, experiment="served")
    for key in parts.get_partition_keys():
        result = dg.materialize([served_model], partition_key=key, instance=instance,
                                resources={"lockgate": resource})
        assert result.success
    client = LockgateClient(server_url)
    runs = list(client.search_runs(["served"], order_by=["attributes.start_time ASC"]))
    assert [r.info.status.value for r in runs] == ["FINISHED", "FINISHED"]
    assert runs[0].data.tags["lockgate.dagster.partition_key"] == "eu|2024-01"
    assert len(runs[1].data.tags["lockgate.dagster.partition_key"]) == 500
    assert all(r.data.metrics == {"val_auc": 0.93} for r in runs)
    assert all(r.data.tags["lockgate.dagster.asset_key"] == "served_model" for r in runs)
