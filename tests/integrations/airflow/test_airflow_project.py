"""RunProjectOperator on real Airflow (dag.test()): the README's DAG runs examples/projects/churn."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from lockgate import LockgateClient
from lockgate.entities import RunStatus
from test_airflow_readme import readme_blocks

ROOT_DIR = Path(__file__).resolve().parents[3]


def _load_readme_dag(readme_dags: Path):  # type: ignore[no-untyped-def]
    path = readme_dags / "readme_project.py"
    path.write_text(readme_blocks("python")[2])
    spec = importlib.util.spec_from_file_location("readme_project", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag_object


def test_readme_project_dag_runs_churn_nested_under_the_task_run(
        readme_dags: Path, task_states, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT_DIR)  # the README names the example by its path in the repository
    dag_run = _load_readme_dag(readme_dags).test()
    assert task_states(dag_run) == {"train": "success"}

    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.dag_id == "readme_project",
                                               XComModel.run_id == dag_run.run_id)
        pushed = {row.key: row.value for row in rows}
    client = LockgateClient()
    project_run = client.get_run(pushed["return_value"]["run_id"])
    task_run = client.get_run(pushed["lockgate_run_id"])
    assert project_run.info.status == RunStatus.FINISHED
    assert project_run.data.params == {"lr": "0.2", "epochs": "5", "seed": "7"}
    assert project_run.data.metrics["accuracy"] == pushed["return_value"]["metrics"]["accuracy"] > 0.6
    tags = project_run.data.tags
    assert tags["mlflow.parentRunId"] == task_run.info.run_id
    assert project_run.info.experiment_id == task_run.info.experiment_id
    assert client.get_experiment(task_run.info.experiment_id).name == "readme-projects"
    assert (tags["lockgate.airflow.dag_id"], tags["lockgate.airflow.task_id"],
            tags["lockgate.airflow.run_id"], tags["lockgate.airflow.try_number"]) == (
        "readme_project", "train", dag_run.run_id, "1")
    assert tags["lockgate.project.entry_point"] == "train"
    assert task_run.info.status == RunStatus.FINISHED


def test_entry_point_exiting_non_zero_fails_the_task_with_the_project_error(
        tmp_path: Path, readme_dags: Path, task_states) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "broken"
    project.mkdir()
    (project / "MLproject").write_text("name: broken\nentry_points:\n  main:\n    command: 'python fail.py'\n")
    (project / "fail.py").write_text("import sys\nprint('no data for 2025-01-01', file=sys.stderr)\nsys.exit(3)\n")
    path = readme_dags / "project_failing.py"
    path.write_text(
        "import datetime\nfrom airflow.sdk import dag\nfrom lockgate_airflow.operators import RunProjectOperator\n\n"
        "@dag(schedule=None, start_date=datetime.datetime(2025, 1, 1), catchup=False)\n"
        "def project_failing():\n"
        f"    RunProjectOperator(task_id='train', uri={str(project)!r}, experiment='failing-projects')\n\n"
        "dag_object = project_failing()\n")
    spec = importlib.util.spec_from_file_location("project_failing", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    dag_run = module.dag_object.test()
    assert task_states(dag_run) == {"train": "failed"}
    client = LockgateClient()
    experiment = client.get_experiment_by_name("failing-projects")
    assert experiment is not None
    runs = {r.data.tags.get("lockgate.airflow.kind"): r for r in client.search_runs([experiment.experiment_id])}
    project_run, task_run = runs["project"], runs["task_instance"]
    assert project_run.info.status == RunStatus.FAILED
    assert project_run.data.tags["lockgate.project.exit_code"] == "3"
    assert project_run.data.tags["mlflow.parentRunId"] == task_run.info.run_id
    assert task_run.info.status == RunStatus.FAILED
    error = task_run.data.tags["lockgate.airflow.error"]
    assert "exited with code 3" in error and "no data for 2025-01-01" in error
