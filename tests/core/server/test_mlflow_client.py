"""The stock ``mlflow`` client against a live Lockgate server: tracking, search, history,
datasets and artifacts, read back through both mlflow and Lockgate's own client."""

from __future__ import annotations

import math
from pathlib import Path

import mlflow
import pytest
from lockgate import LockgateClient
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

pytestmark = pytest.mark.usefixtures("mlflow_env")  # tests/core/server/conftest.py


def test_fluent_logging_reads_back_everywhere(server_url: str) -> None:
    exp = mlflow.set_experiment("fluent")
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"depth": 6, "loss_fn": "huber"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=4)
        mlflow.log_metric("weird", float("nan"))
        mlflow.set_tag("team", "risk")
        mlflow.set_tags({"stage": "dev", "owner": "ana"})
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("child_metric", 3.0)
    run = MlflowClient().get_run(parent.info.run_id)
    assert run.info.status == "FINISHED" and run.info.end_time is not None
    assert run.info.run_name == "parent" and run.info.experiment_id == exp.experiment_id
    assert run.info.artifact_uri == f"mlflow-artifacts:/{exp.experiment_id}/{parent.info.run_id}/artifacts"
    assert run.data.params == {"lr": "0.01", "depth": "6", "loss_fn": "huber"}
    assert run.data.metrics["loss"] == pytest.approx(0.2) and run.data.metrics["acc"] == 0.9
    assert math.isnan(run.data.metrics["weird"])
    assert {k: run.data.tags[k] for k in ("team", "stage", "owner")} == {"team": "risk", "stage": "dev", "owner": "ana"}
    history = MlflowClient().get_metric_history(parent.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]
    child_run = MlflowClient().get_run(child.info.run_id)
    assert child_run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    # Lockgate's own client over HTTP sees the same data, parent link included.
    lg = LockgateClient(server_url)
    assert lg.get_run(child.info.run_id).info.parent_run_id == parent.info.run_id
    assert lg.get_run(parent.info.run_id).data.params["loss_fn"] == "huber"


def test_client_api_batch_tags_delete_restore() -> None:
    client = MlflowClient()
    exp_id = client.create_experiment("client-api", tags={"k": "v"})
    assert client.get_experiment(exp_id).tags == {"k": "v"}
    assert client.get_experiment_by_name("client-api").experiment_id == exp_id
    assert client.get_experiment_by_name("nope") is None
    run = client.create_run(exp_id, run_name="r")
    rid = run.info.run_id
    client.log_batch(
        rid,
        metrics=[Metric("m", float(i), 1000 + i, i) for i in range(50)],
        params=[Param("p", "1")],
        tags=[RunTag("t", "x")],
    )
    assert len(client.get_metric_history(rid, "m")) == 50
    client.set_tag(rid, "gone", "soon")
    client.delete_tag(rid, "gone")
    assert "gone" not in client.get_run(rid).data.tags
    client.set_terminated(rid, "KILLED")
    assert client.get_run(rid).info.status == "KILLED"
    client.update_run(rid, name="renamed")
    assert client.get_run(rid).info.run_name == "renamed"
    client.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "deleted"
    client.restore_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "active"
    client.rename_experiment(exp_id, "client-api-2")
    client.set_experiment_tag(exp_id, "k", "w")
    assert client.get_experiment(exp_id).tags == {"k": "w"}
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    client.restore_experiment(exp_id)
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_run("f" * 32)
    with pytest.raises(MlflowException, match="already"):
        client.create_experiment("client-api-2")
    with pytest.raises(MlflowException, match="INVALID_PARAMETER_VALUE"):
        client.log_param(rid, "p", "2")


def test_search_runs_with_filters_order_and_pages() -> None:
    client = MlflowClient()
    exp_id = client.create_experiment("search")
    for i in range(12):
        run = client.create_run(exp_id, run_name=f"r{i}")
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("acc", i / 10, 1, 0)],
            params=[Param("lr", "0.01" if i % 2 else "0.1")],
        )
    found = client.search_runs([exp_id], "metrics.acc > 0.5 and params.lr = '0.01'", order_by=["metrics.acc DESC"])
    assert [r.data.metrics["acc"] for r in found] == [1.1, 0.9, 0.7]
    page1 = client.search_runs([exp_id], max_results=5, order_by=["attributes.run_name ASC"])
    assert len(page1) == 5 and page1.token
    page2 = client.search_runs([exp_id], max_results=5, order_by=["attributes.run_name ASC"], page_token=page1.token)
    assert {r.info.run_id for r in page1}.isdisjoint({r.info.run_id for r in page2})
    df = mlflow.search_runs(experiment_ids=[exp_id], filter_string="params.lr = '0.1'")
    assert len(df) == 6 and set(df["params.lr"]) == {"0.1"}
    exps = client.search_experiments(filter_string="name = 'search'")
    assert [e.experiment_id for e in exps] == [exp_id]


def test_datasets_via_log_input() -> None:
    import pandas as pd
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(frame, source="s3://bucket/iris.parquet", name="iris", targets="y")
    mlflow.set_experiment("datasets")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
    inputs = MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.name == "iris" and inputs[0].dataset.digest == dataset.digest
    assert inputs[0].dataset.source_type == "s3"
    assert {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"] == "training"


def test_artifacts_through_the_proxy(tmp_path: Path, artifacts_dir: Path) -> None:
    mlflow.set_experiment("artifacts")
    local = tmp_path / "model.txt"
    local.write_text("weights")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(local))
        mlflow.log_artifact(str(local), artifact_path="sub/dir")
        mlflow.log_text("hello", "notes/readme.md")
        mlflow.log_dict({"a": 1}, "config.json")
    rid, exp_id = run.info.run_id, run.info.experiment_id
    stored = artifacts_dir / exp_id / rid / "artifacts"
    assert (stored / "model.txt").read_text() == "weights"
    assert (stored / "sub" / "dir" / "model.txt").read_text() == "weights"
    client = MlflowClient()
    listed = {(f.path, f.is_dir) for f in client.list_artifacts(rid)}
    assert listed == {("config.json", False), ("model.txt", False), ("notes", True), ("sub", True)}
    assert [f.path for f in client.list_artifacts(rid, "sub/dir")] == ["sub/dir/model.txt"]
    out = client.download_artifacts(rid, "notes", str(tmp_path / "dl"))
    assert (Path(out) / "readme.md").read_text() == "hello"
    assert mlflow.artifacts.load_dict(f"runs:/{rid}/config.json") == {"a": 1}
