"""LockgateResource against a live Lockgate server (real uvicorn on a free port)."""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def test_model_asset_on_a_server_links_its_run_and_charts_its_metrics(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    from dagster_deployment import LockgateServer
    from lockgate.registry import GatePolicy, MetricThreshold
    from lockgate_dagster import LockgateModelIOManager, build_promotion_gate_checks
    from sklearn.linear_model import LogisticRegression

    server = LockgateServer(tmp_path / "server").start()
    try:
        token = server.create_token()

        @dg.asset(io_manager_key="model_io")
        def linked_model(context: dg.AssetExecutionContext, lockgate: LockgateResource):
            with lockgate.start_run(context):
                lockgate.log_metrics({"val_auc": 0.93, "val_loss": 0.21})
                return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])

        gate = build_promotion_gate_checks(assets=[linked_model], alias="champion",
                                           policy=GatePolicy(rules=[MetricThreshold(metric="val_auc", min=0.9)]))
        connection: dict[str, Any] = {"tracking_uri": server.url, "token": token}
        result = dg.materialize(
            [linked_model, *gate], instance=instance,
            resources={"lockgate": LockgateResource(experiment="linked", **connection),
                       "model_io": LockgateModelIOManager(experiment="linked", **connection)},
        )
        assert result.success
        client = LockgateClient(server.url, token=token)
        version = client.get_model_version("linked_model", 1)
        (mat,) = result.asset_materializations_for_node("linked_model")
        meta = mat.metadata
        assert meta["lockgate/run_link"] == dg.MetadataValue.url(f"{server.url}/runs/{version.run_id}")
        assert version.run_link == f"{server.url}/runs/{version.run_id}"
        # Float metadata is what Dagster plots across materializations.
        assert meta["lockgate/metric/val_auc"] == dg.MetadataValue.float(0.93)
        assert meta["lockgate/metric/val_loss"] == dg.MetadataValue.float(0.21)
        assert meta["lockgate/version"] == dg.MetadataValue.int(1)
        assert meta["lockgate/model_uri"].value == "models:/linked_model/1"
        (check,) = result.get_asset_check_evaluations()
        assert check.passed and check.metadata["lockgate/version"].value == 1
        assert client.get_model_version_by_alias("linked_model", "champion").version == 1
    finally:
        server.stop()
