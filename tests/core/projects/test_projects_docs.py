"""docs/projects.md's Orchestrators example runs as written: a project run nested under a step's run."""

from __future__ import annotations

import re
from pathlib import Path

import lockgate
import pytest
from lockgate.entities import RunStatus

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "projects.md"


def test_orchestrators_example_nests_the_project_run(monkeypatch: pytest.MonkeyPatch) -> None:
    section = DOC.read_text().split("## Orchestrators\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "docs_projects"}
    exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    step_id = namespace["step"].info.run_id  # type: ignore[attr-defined]
    run = lockgate.get_run(namespace["done"].info.run_id)  # type: ignore[attr-defined]
    assert run.info.status == RunStatus.FINISHED
    assert run.data.tags["mlflow.parentRunId"] == step_id
    assert run.data.tags["my.pipeline.step"] == "train"
    assert run.data.params == {"lr": "0.2", "epochs": "5", "seed": "7"}
    assert 0.6 < run.data.metrics["accuracy"] <= 1.0
    assert lockgate.get_run(step_id).info.status == RunStatus.FINISHED
