"""run_project on real Prefect (prefect_test_harness): the README's flow runs examples/projects/churn."""

from __future__ import annotations

import re
from pathlib import Path

import lockgate
import pytest
from lockgate.entities import RunStatus
from lockgate.projects import ProjectRunFailed

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "integrations" / "prefect" / "README.md"


def _readme_block() -> str:
    text = README.read_text()
    start = text.index("## Project tasks")
    (block,) = re.findall(r"```python\n(.*?)```", text[start:text.index("\n## ", start + 1)], flags=re.DOTALL)
    return block


def test_readme_flow_runs_churn_nested_under_the_task_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the README names the example by its path in the repository
    namespace: dict = {"__name__": "readme_project"}
    exec(compile(_readme_block(), str(README), "exec"), namespace)  # noqa: S102 - our own documentation
    result = namespace["result"]
    client = lockgate.LockgateClient()
    project_run = client.get_run(result["run_id"])
    assert project_run.info.status == RunStatus.FINISHED
    assert project_run.data.params == {"lr": "0.2", "epochs": "5", "seed": "7"}
    assert project_run.data.metrics["accuracy"] == result["metrics"]["accuracy"] > 0.6
    tags = project_run.data.tags
    task_run = client.get_run(tags["mlflow.parentRunId"])
    flow_run = client.get_run(task_run.data.tags["mlflow.parentRunId"])
    assert task_run.data.tags["lockgate.prefect.task_name"] == "run_project"
    assert task_run.data.params["uri"] == "examples/projects/churn"
    assert flow_run.data.tags["lockgate.prefect.flow_name"] == "nightly-churn"
    assert tags["lockgate.prefect.task_run_id"] == task_run.data.tags["lockgate.prefect.task_run_id"]
    assert tags["lockgate.prefect.flow_run_id"] == flow_run.data.tags["lockgate.prefect.flow_run_id"]
    assert client.get_experiment(project_run.info.experiment_id).name == "readme-projects"
    assert (task_run.info.status, flow_run.info.status) == (RunStatus.FINISHED, RunStatus.FINISHED)


def test_entry_point_exiting_non_zero_fails_the_task_with_the_project_error(tmp_path: Path) -> None:
    from lockgate_prefect import run_project
    from prefect import flow

    project = tmp_path / "broken"
    project.mkdir()
    (project / "MLproject").write_text("name: broken\nentry_points:\n  main:\n    command: 'python fail.py'\n")
    (project / "fail.py").write_text("import sys\nprint('no data for 2025-01-01', file=sys.stderr)\nsys.exit(3)\n")

    @flow
    def broken_flow() -> None:
        run_project(str(project))

    with pytest.raises(ProjectRunFailed, match="exited with code 3") as failed:
        broken_flow()
    assert "no data for 2025-01-01" in failed.value.message
    client = lockgate.LockgateClient()
    project_run = client.get_run(failed.value.run.info.run_id)
    assert project_run.info.status == RunStatus.FAILED
    assert project_run.data.tags["lockgate.project.exit_code"] == "3"
    task_run = client.get_run(project_run.data.tags["mlflow.parentRunId"])
    assert task_run.info.status == RunStatus.FAILED
    assert task_run.data.tags["lockgate.prefect.task_name"] == "run_project"
