"""build_project_asset on real Dagster (materialize()): the README's asset runs examples/projects/churn."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from lockgate import LockgateClient
from lockgate.entities import RunStatus
from lockgate.projects import ProjectRunFailed
from lockgate_dagster import LockgateResource, build_project_asset
from test_readme import README, _blocks, _run

ROOT = Path(__file__).resolve().parents[3]


def test_readme_project_asset_runs_churn_nested_under_the_step_run(
        instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the README names the example by its path in the repository
    assert "build_project_asset" in _blocks("python")[2], README
    namespace = _run(_blocks("python")[2], "readme_project_asset")
    defs = namespace["project_defs"]
    result = dg.materialize([namespace["churn_training"]], instance=instance, resources=defs.resources)
    assert result.success
    value = result.output_for_node("churn_training")
    client = LockgateClient()
    project_run = client.get_run(value["run_id"])
    assert project_run.info.status == RunStatus.FINISHED
    assert project_run.data.params == {"lr": "0.2", "epochs": "5", "seed": "7"}
    assert project_run.data.metrics["accuracy"] == value["metrics"]["accuracy"] > 0.6
    tags = project_run.data.tags
    step_run = client.get_run(tags["mlflow.parentRunId"])
    assert step_run.info.status == RunStatus.FINISHED
    assert client.get_experiment(project_run.info.experiment_id).name == "readme-projects"
    for key in ("lockgate.dagster.run_id", "lockgate.dagster.asset_key"):
        assert tags[key] == step_run.data.tags[key]
    assert tags["lockgate.dagster.run_id"] == result.run_id
    (materialization,) = result.asset_materializations_for_node("churn_training")
    assert materialization.metadata["lockgate_run_id"].value == value["run_id"]
    assert materialization.metadata["metric/accuracy"].value == value["metrics"]["accuracy"]


def test_entry_point_exiting_non_zero_fails_the_step_with_the_project_error(
        tmp_path: Path, instance: dg.DagsterInstance) -> None:
    project = tmp_path / "broken"
    project.mkdir()
    (project / "MLproject").write_text("name: broken\nentry_points:\n  main:\n    command: 'python fail.py'\n")
    (project / "fail.py").write_text("import sys\nprint('no data for 2025-01-01', file=sys.stderr)\nsys.exit(3)\n")
    asset = build_project_asset("broken_training", uri=str(project))
    with pytest.raises(ProjectRunFailed, match="exited with code 3") as failed:
        dg.materialize([asset], instance=instance, resources={"lockgate": LockgateResource()})
    assert "no data for 2025-01-01" in failed.value.message
    client = LockgateClient()
    project_run = client.get_run(failed.value.run.info.run_id)
    assert project_run.info.status == RunStatus.FAILED
    assert project_run.data.tags["lockgate.project.exit_code"] == "3"
    assert client.get_run(project_run.data.tags["mlflow.parentRunId"]).info.status == RunStatus.FAILED
