"""MLflow's acceptance rules on Lockgate's MLflow surface, and Lockgate's stricter own API.

Each rule was read off a real ``mlflow server`` 3.17.2 (the differential suite compares the
scenario's cases call by call); these tests pin the variations around them: what is stored
and read back on the MLflow surface, and that Lockgate's own client still refuses what MLflow
would silently change.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from live_server import thread_server
from lockgate import LockgateClient
from lockgate.errors import InvalidArgument
from lockgate.server.mlflow_proto import LOG_BATCH, LOG_METRIC, UPDATE_RUN, read_like_mlflow

API = "/api/2.0/mlflow"
T0 = 1_600_000_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(server URL, its database URI): a Lockgate server on a SQLite file of its own."""
    from lockgate.server.app import create_app

    tmp: Path = tmp_path_factory.mktemp("mlflow-rules")
    db = f"sqlite:///{tmp / 'lockgate.db'}"
    with thread_server(create_app(backend_store_uri=db, artifacts_destination=str(tmp / "art"))) as url:
        yield url, db


def _post(url: str, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{url}{API}{path}", data=json.dumps(body, allow_nan=True),
                         headers={"Content-Type": "application/json"}, timeout=30)


def _run(url: str) -> str:
    body = _post(url, "/runs/create", {"experiment_id": "0", "start_time": T0}).json()
    return str(body["run"]["info"]["run_id"])


def _history(url: str, run_id: str, key: str = "m") -> list[tuple[Any, int, int]]:
    got = requests.get(f"{url}{API}/metrics/get-history", params={"run_id": run_id, "metric_key": key},
                       timeout=30).json()
    return [(m["value"], m["timestamp"], m["step"]) for m in got.get("metrics", [])]


# ------------------------------------------------------------ how MLflow reads a body
def test_a_field_protobuf_cannot_read_resets_it_and_every_later_one() -> None:
    base = {"run_id": "r", "key": "m", "value": 2.0}
    assert read_like_mlflow({**base, "timestamp": 1.5, "step": 3}, LOG_METRIC) == base
    assert read_like_mlflow({**base, "timestamp": 2**63, "step": 3}, LOG_METRIC) == base
    assert read_like_mlflow({**base, "timestamp": 7, "step": -(2**63) - 1}, LOG_METRIC) == {**base, "timestamp": 7}
    assert read_like_mlflow({**base, "timestamp": "8", "step": 2.0}, LOG_METRIC) == {
        **base, "timestamp": 8, "step": 2}
    # A bare NaN is refused by protobuf (it wants "NaN"): value and all after it stay default.
    assert read_like_mlflow({"run_id": "r", "key": "m", "value": math.nan, "timestamp": 5}, LOG_METRIC) == {
        "run_id": "r", "key": "m"}
    assert math.isnan(read_like_mlflow({"run_id": "r", "key": "m", "value": "NaN", "timestamp": 5},
                                       LOG_METRIC)["value"])


def test_raw_checks_still_refuse_what_mlflow_refuses() -> None:
    for bad in ({"timestamp": "1.5"}, {"timestamp": "x"}, {"value": "abc"}, {"value": None},
                {"timestamp": None}, {"key": ""}):
        with pytest.raises(ValueError):
            read_like_mlflow({"run_id": "r", "key": "m", "value": 1.0, "timestamp": 5, **bad}, LOG_METRIC)


def test_run_status_unknown_name_is_ignored_unknown_number_refused() -> None:
    assert read_like_mlflow({"run_id": "r", "status": "DONE", "end_time": 9}, UPDATE_RUN) == {
        "run_id": "r", "end_time": 9}
    assert read_like_mlflow({"run_id": "r", "status": 3}, UPDATE_RUN) == {"run_id": "r", "status": "FINISHED"}
    with pytest.raises(ValueError):
        read_like_mlflow({"run_id": "r", "status": 9}, UPDATE_RUN)
    # "9" is a string, so MLflow's raw type check passes; protobuf stopped, end_time is lost.
    assert read_like_mlflow({"run_id": "r", "status": "9", "end_time": 9}, UPDATE_RUN) == {"run_id": "r"}


def test_batch_stops_at_a_bad_metric_and_keeps_its_partial_entry() -> None:
    body = {"run_id": "r", "metrics": [{"key": "a", "value": 1.0, "timestamp": 1, "step": 1},
                                       {"key": "b", "value": "x", "timestamp": 1, "step": 1},
                                       {"key": "c", "value": 3.0, "timestamp": 1, "step": 1}],
            "params": [{"key": "p", "value": "1"}]}
    assert read_like_mlflow(body, LOG_BATCH) == {
        "run_id": "r", "metrics": [{"key": "a", "value": 1.0, "timestamp": 1, "step": 1}, {"key": "b"}]}
    with pytest.raises(ValueError, match=r"metrics\[0\].timestamp"):
        read_like_mlflow({"run_id": "r", "metrics": [{"key": "a", "value": 1.0}]}, LOG_BATCH)


# ------------------------------------------------------------ through a real Lockgate server
def test_log_metric_odd_fields_store_what_mlflow_stores(server: tuple[str, str]) -> None:
    url, _ = server
    cases = {"ts_float": ({"timestamp": 1.5}, [(1.0, 0, 0)]),
             "step_huge": ({"step": 2**63}, [(1.0, T0, 0)]),
             "ts_max": ({"timestamp": 2**63 - 1}, [(1.0, 2**63 - 1, 0)]),
             "nan_bare": ({"value": math.nan}, [(0.0, 0, 0)]),
             "inf_quoted": ({"value": "Infinity"}, [(1.7976931348623157e308, T0, 0)]),
             "bool_value": ({"value": True}, [(1.0, T0, 0)])}
    for name, (fields, stored) in cases.items():
        run_id = _run(url)
        answer = _post(url, "/runs/log-metric", {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": T0,
                                                 "step": 0, **fields})
        assert answer.status_code == 200, (name, answer.text)
        assert _history(url, run_id) == stored, name
    refused = _post(url, "/runs/log-metric", {"run_id": _run(url), "key": "m", "value": 1.0, "timestamp": "1.5"})
    assert (refused.status_code, refused.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_long_values_truncated_on_mlflow_surface_refused_by_lockgate_client(server: tuple[str, str]) -> None:
    url, db = server
    run_id = _run(url)
    assert _post(url, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "v" * 6001}).status_code == 200
    assert _post(url, "/runs/set-tag", {"run_id": run_id, "key": "t", "value": "w" * 8001}).status_code == 200
    assert _post(url, "/runs/log-batch", {"run_id": run_id, "params": [{"key": "bp", "value": "x" * 7000}],
                                          "tags": [{"key": "bt", "value": "y" * 9000}]}).status_code == 200
    assert _post(url, "/runs/log-parameter", {"run_id": run_id, "key": "pn", "value": None}).status_code == 200
    # Logging the same long value again compares the truncated values: accepted, as in MLflow.
    assert _post(url, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "v" * 6001}).status_code == 200
    run = LockgateClient(db).get_run(run_id)
    assert {k: len(v) for k, v in run.data.params.items()} == {"p": 6000, "bp": 6000, "pn": 0}
    assert (len(run.data.tags["t"]), len(run.data.tags["bt"])) == (8000, 8000)
    for client in (LockgateClient(db), LockgateClient(url)):  # in-process and over /api/v1
        with pytest.raises(InvalidArgument, match="6000"):
            client.log_param(run_id, "q", "v" * 6001)
        with pytest.raises(InvalidArgument, match="8000"):
            client.set_tag(run_id, "u", "w" * 8001)


def test_history_on_mlflow_surface_is_distinct_by_time_with_clamped_infinity(server: tuple[str, str]) -> None:
    url, db = server
    run_id = _run(url)
    native = LockgateClient(url)
    for value, ts, step in [(2.0, T0 + 5, 1), (math.inf, T0, 2), (2.0, T0 + 5, 1), (-math.inf, T0, 2),
                            (math.nan, T0, 2), (0.5, T0 + 1, 0), (1.7976931348623157e308, T0, 2)]:
        native.log_metric(run_id, "m", value, timestamp=ts, step=step)
    top = 1.7976931348623157e308
    assert _history(url, run_id) == [(-top, T0, 2), ("NaN", T0, 2), (top, T0, 2), (0.5, T0 + 1, 0), (2.0, T0 + 5, 1)]
    mlflow_page = requests.get(f"{url}{API}/metrics/get-history", timeout=30, params={
        "run_id": run_id, "metric_key": "m", "max_results": 2, "page_token": None}).json()
    assert [m["value"] for m in mlflow_page["metrics"]] == [-top, "NaN"] and mlflow_page["next_page_token"]
    # Lockgate's own API keeps every point as logged, infinity included, in step order.
    values = [m.value for m in native.get_metric_history(run_id, "m")]
    assert len(values) == 7 and values[:3] == [0.5, 2.0, 2.0] and math.inf in values and -math.inf in values
    latest = LockgateClient(db).get_run(run_id).data.metrics["m"]  # step 2, the last logged there
    got = requests.get(f"{url}{API}/runs/get", params={"run_id": run_id}, timeout=30).json()
    assert [m["value"] for m in got["run"]["data"]["metrics"]] == [min(max(latest, -top), top)]


def test_stock_client_against_lockgate_sees_mlflow_rules(server: tuple[str, str]) -> None:
    from mlflow import MlflowClient

    url, _ = server
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    run_id = client.create_run("0").info.run_id
    client.log_metric(run_id, "inf", math.inf, timestamp=T0, step=0)
    client.log_param(run_id, "long", "z" * 6001)  # the stock client sends it; the server cuts it
    assert [m.value for m in client.get_metric_history(run_id, "inf")] == [1.7976931348623157e308]
    assert len(client.get_run(run_id).data.params["long"]) == 6000
    client.set_terminated(run_id, status="FINISHED", end_time=T0 + 1)
    bad = _post(url, "/runs/update", {"run_id": run_id, "status": "DONE"})
    assert bad.status_code == 200 and bad.json()["run_info"]["status"] == "FINISHED"
    name = "e" * 500
    assert client.get_experiment(client.create_experiment(name)).name == name
    too_long = _post(url, "/experiments/create", {"name": "e" * 501})
    assert (too_long.status_code, too_long.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    exp_id = client.create_experiment("tagged")
    client.set_experiment_tag(exp_id, "note", "x" * 20_000)  # MLflow's experiment tag limit, not cut
    assert len(client.get_experiment(exp_id).tags["note"]) == 20_000
    over = _post(url, "/experiments/set-experiment-tag", {"experiment_id": exp_id, "key": "n2", "value": "x" * 20_001})
    assert (over.status_code, over.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    client.create_registered_model("rules-model", tags={"a": "1"})
    client.delete_registered_model_tag("rules-model", "missing")  # not set: ignored, as in MLflow
    assert client.get_registered_model("rules-model").tags == {"a": "1"}
