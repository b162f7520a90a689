"""The latest value of a metric, as a run reports it: MLflow's rule (highest step, then latest
timestamp, then highest value, NaN counting as 0), with its step and timestamp, on SQLite and
PostgreSQL, through the store and through MLflow's REST shape."""

from __future__ import annotations

import math

from lockgate import LockgateClient
from lockgate.entities import Metric
from lockgate.server.wire import run_json

T0 = 1_600_000_000_000


def test_latest_metric_follows_mlflows_rule_with_step_and_time(store_uri: str) -> None:
    client = LockgateClient(store_uri)
    exp = client.create_experiment("latest")
    run_id = client.create_run(exp).info.run_id
    # One batch: a lower step logged last does not win; on a tie of step and time the higher value does.
    client.log_batch(run_id, metrics=[
        Metric(key="loss", value=0.5, timestamp=T0 + 9, step=2),
        Metric(key="loss", value=0.9, timestamp=T0 + 50, step=1),
        Metric(key="tie", value=0.2, timestamp=T0, step=3),
        Metric(key="tie", value=0.7, timestamp=T0, step=3),
        Metric(key="tie", value=0.4, timestamp=T0, step=3),
        Metric(key="nan", value=0.0, timestamp=T0, step=0),
        Metric(key="nan", value=math.nan, timestamp=T0, step=0),
    ])
    # Later calls: the same rules against the stored latest value.
    client.log_batch(run_id, metrics=[Metric(key="loss", value=0.1, timestamp=T0 + 1, step=2)])  # older time
    client.log_batch(run_id, metrics=[Metric(key="loss", value=0.3, timestamp=T0 + 10, step=2)])  # newer time
    client.log_batch(run_id, metrics=[Metric(key="tie", value=0.6, timestamp=T0, step=3)])  # lower value
    client.log_batch(run_id, metrics=[Metric(key="neg", value=1.5, timestamp=T0, step=-4)])
    client.log_batch(run_id, metrics=[Metric(key="nan", value=math.nan, timestamp=T0 + 1, step=0)])

    run = client.get_run(run_id)
    assert {k: v for k, v in run.data.metrics.items() if k != "nan"} == {"loss": 0.3, "tie": 0.7, "neg": 1.5}
    assert math.isnan(run.data.metrics["nan"])
    assert dict(run.data.metric_points) == {
        "loss": (2, T0 + 10), "tie": (3, T0), "neg": (-4, T0), "nan": (0, T0 + 1)}

    (found,) = client.search_runs([exp], filter_string="metrics.tie = 0.7")
    assert found.data.metric_points == run.data.metric_points

    wire = {m["key"]: m for m in run_json(run)["data"]["metrics"]}
    assert wire["loss"] == {"key": "loss", "value": 0.3, "timestamp": T0 + 10, "step": 2}
    assert wire["neg"] == {"key": "neg", "value": 1.5, "timestamp": T0, "step": -4}
    assert (wire["nan"]["value"], wire["nan"]["step"], wire["nan"]["timestamp"]) == ("NaN", 0, T0 + 1)


def test_metric_points_travel_through_lockgate_server(start_server, sqlite_uri: str) -> None:  # type: ignore[no-untyped-def]
    url = start_server(backend_store_uri=sqlite_uri)
    client = LockgateClient(url)
    run_id = client.create_run(client.create_experiment("remote")).info.run_id
    client.log_batch(run_id, metrics=[Metric(key="acc", value=0.9, timestamp=T0, step=3),
                                      Metric(key="acc", value=0.8, timestamp=T0 + 5, step=1)])
    run = client.get_run(run_id)
    assert run.data.metrics == {"acc": 0.9}
    assert run.data.metric_points == {"acc": (3, T0)}
    (found,) = client.search_runs([run.info.experiment_id])
    assert found.data.metric_points == {"acc": (3, T0)}
