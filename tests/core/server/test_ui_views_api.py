"""The read-only endpoints behind the web UI, over HTTP on SQLite and PostgreSQL: downsampled
histories keep every spike, MLflow's get-history-bulk-interval, column projection, distinct
keys, experiment stats, permissions and artifact rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

API = "/api/v1"


def _client(url: str) -> Any:
    from lockgate.client import LockgateClient

    return LockgateClient(tracking_uri=url, user="bob")


@pytest.fixture
def live(start_server: Any, store_uri: str, artifacts_dir: Path) -> dict[str, Any]:
    from lockgate.entities import Metric

    url = start_server(backend_store_uri=store_uri, artifacts_destination=str(artifacts_dir))
    client = _client(url)
    exp = client.create_experiment("views")
    rid = client.create_run(exp, run_name="long", context_tags=False).info.run_id
    values = [float(i % 10) for i in range(20_000)]
    values[12_345] = 1000.0
    values[777] = -500.0
    client.log_batch(rid, metrics=[Metric(key="loss", value=v, timestamp=1_000_000 + i, step=i)
                                   for i, v in enumerate(values)])
    other = client.create_run(exp, run_name="short", context_tags=False).info.run_id
    client.log_batch(other, metrics=[Metric(key="loss", value=float(i), timestamp=5 + i, step=i) for i in range(5)])
    client.log_params(other, {"lr": "0.1", "Depth_Max": "3"})
    client.set_tags(other, {"team": "risk", "stage": "dev"})
    return {"url": url, "client": client, "exp": exp, "long": rid, "short": other}


def test_sampled_history_keeps_spikes_and_zooms_to_detail(live: dict[str, Any]) -> None:
    body = {"run_ids": [live["long"], live["short"]], "keys": ["loss"], "max_points": 200}
    series = httpx.post(live["url"] + f"{API}/metrics/sampled", json=body).json()["series"]
    long, short = series
    assert long["total"] == 20_000 and long["sampled"] is True and len(long["points"]) <= 200
    values = {(p["step"], p["value"]) for p in long["points"]}
    assert (12_345, 1000.0) in values and (777, -500.0) in values
    assert [p["step"] for p in long["points"]] == sorted(p["step"] for p in long["points"])
    assert short == {"run_id": live["short"], "key": "loss", "total": 5, "sampled": False,
                     "points": [{"step": i, "timestamp": 5 + i, "value": float(i)} for i in range(5)]}
    zoom = httpx.post(live["url"] + f"{API}/metrics/sampled",
                      json={**body, "run_ids": [live["long"]], "start": 12_300, "end": 12_400}).json()["series"][0]
    assert zoom["sampled"] is False and zoom["total"] == 101
    assert zoom["points"][45] == {"step": 12_345, "timestamp": 1_012_345, "value": 1000.0}
    by_time = httpx.post(live["url"] + f"{API}/metrics/sampled",
                         json={**body, "x": "timestamp", "start": 1_000_770, "end": 1_000_780}).json()["series"][0]
    assert [p["step"] for p in by_time["points"]] == list(range(770, 781))


def test_sampled_history_bad_input_is_a_clear_400_or_404(live: dict[str, Any]) -> None:
    url = live["url"] + f"{API}/metrics/sampled"
    missing = httpx.post(url, json={"run_ids": ["f" * 32], "keys": ["loss"]})
    assert missing.status_code == 404 and "f" * 32 in missing.json()["message"]
    reversed_range = httpx.post(url, json={"run_ids": [live["long"]], "keys": ["loss"], "start": 5, "end": 1})
    assert reversed_range.status_code == 400 and "after end" in reversed_range.json()["message"]
    assert httpx.post(url, json={"run_ids": [live["long"]], "keys": ["loss"], "max_points": 1}).status_code == 400
    assert httpx.post(url, json={"run_ids": [], "keys": ["loss"]}).status_code == 400


def test_mlflow_get_history_bulk_interval_samples_as_mlflow(live: dict[str, Any]) -> None:
    """MLflow's endpoint keeps evenly spaced rows (first and last in), as MLflow's server does;
    the spike that /api/v1/metrics/sampled keeps can fall between them."""
    url = live["url"] + "/api/2.0/mlflow/metrics/get-history-bulk-interval"
    resp = httpx.get(url, params=[("run_ids", live["long"]), ("run_ids", live["short"]),
                                  ("metric_key", "loss"), ("max_results", "100")])
    assert resp.status_code == 200, resp.text
    metrics = resp.json()["metrics"]
    long = [m for m in metrics if m["run_id"] == live["long"]]
    assert {"key", "value", "timestamp", "step", "run_id"} <= set(long[0])
    assert [m["step"] for m in long] == [*range(0, 19_800, 200), 19_999]  # 100 groups of 200 rows
    assert [m["timestamp"] for m in long[:2]] == [1_000_000, 1_000_200]
    assert [m["step"] for m in metrics if m["run_id"] == live["short"]] == [0, 1, 2, 3, 4]
    window = httpx.get(url, params={"run_ids": live["long"], "metric_key": "loss", "start_step": 10,
                                    "end_step": 19}).json()["metrics"]
    assert [m["step"] for m in window] == list(range(10, 20))
    half = httpx.get(url, params={"run_ids": live["long"], "metric_key": "loss", "start_step": 10})
    assert half.status_code == 400 and "both must be specified" in half.json()["message"]


def test_run_search_returns_only_the_requested_columns(live: dict[str, Any]) -> None:
    body = {"experiment_ids": [live["exp"]], "filter_string": "attributes.run_name = 'short'",
            "columns": {"params": ["lr"], "metrics": [], "tags": ["team"]}}
    (run,) = httpx.post(live["url"] + f"{API}/runs/search", json=body).json()["items"]
    assert run["data"] == {"params": {"lr": "0.1"}, "metrics": {}, "metric_points": {}, "tags": {"team": "risk"}}
    body["columns"] = {"metrics": ["loss"]}  # kinds left out come back whole
    (run,) = httpx.post(live["url"] + f"{API}/runs/search", json=body).json()["items"]
    assert run["data"]["metrics"] == {"loss": 4.0} and run["data"]["params"] == {"lr": "0.1", "Depth_Max": "3"}
    assert run["data"]["metric_points"] == {"loss": [4, 9]}  # step and timestamp of the latest value


def test_distinct_keys_are_searchable_and_capped(live: dict[str, Any]) -> None:
    url = live["url"] + f"{API}/experiments/{live['exp']}/keys"
    keys = httpx.get(url).json()
    assert keys == {"params": ["Depth_Max", "lr"], "metrics": ["loss"], "tags": ["mlflow.runName", "stage", "team"],
                    "truncated": False}
    found = httpx.get(url, params={"contains": "depth_"}).json()
    assert found["params"] == ["Depth_Max"] and found["metrics"] == [] and found["tags"] == []
    assert httpx.get(url, params={"contains": "%"}).json()["params"] == []  # LIKE wildcards are literal
    capped = httpx.get(url, params={"max_results": 1}).json()
    assert capped["params"] == ["Depth_Max"] and capped["truncated"] is True
    assert httpx.get(live["url"] + f"{API}/experiments/424242/keys").status_code == 404


def test_experiment_stats_and_permissions(live: dict[str, Any]) -> None:
    stats = httpx.post(live["url"] + f"{API}/experiments/stats",
                       json={"experiment_ids": [live["exp"], "0"]}).json()["items"]
    assert stats[0]["experiment_id"] == live["exp"] and stats[0]["runs"] == 2
    assert stats[0]["last_activity"] is not None and stats[1] == {"experiment_id": "0", "runs": 0,
                                                                  "last_activity": None}
    bad = httpx.post(live["url"] + f"{API}/experiments/stats", json={"experiment_ids": ["x"]})
    assert bad.status_code == 400 and "'x'" in bad.json()["message"]
    assert httpx.get(live["url"] + f"{API}/permissions").json() == {
        "auth": False, "user": None, "admin": False, "permission": "MANAGE"}


def test_artifacts_outside_the_server_destination_are_not_read(live: dict[str, Any], tmp_path: Path) -> None:
    client = live["client"]
    outside = tmp_path / "elsewhere"
    exp = client.create_experiment("outside", artifact_location=str(outside))
    rid = client.create_run(exp, context_tags=False).info.run_id
    resp = httpx.get(live["url"] + f"{API}/runs/{rid}/artifacts")
    assert resp.status_code == 400 and "outside the server's artifact destination" in resp.json()["message"]
    client.log_text(live["short"], "x", "dir/a.txt")
    listing = httpx.get(live["url"] + f"{API}/runs/{live['short']}/artifacts").json()["files"]
    assert listing == [{"path": "dir", "is_dir": True, "file_size": None}]
    inner = httpx.get(live["url"] + f"{API}/runs/{live['short']}/artifacts", params={"path": "dir"}).json()
    assert inner["files"] == [{"path": "dir/a.txt", "is_dir": False, "file_size": 1}]
    preview = httpx.get(live["url"] + f"{API}/runs/{live['short']}/artifacts/preview", params={"path": "dir"})
    assert preview.json()["kind"] == "directory"
    gone = httpx.get(live["url"] + f"{API}/runs/{live['short']}/artifacts/preview", params={"path": "nope.txt"})
    assert gone.status_code == 404
