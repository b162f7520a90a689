"""The README's Projects section runs as written, from a clean git checkout of the example."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import lockgate
import pytest
from lockgate.entities import RunStatus

ROOT = Path(__file__).resolve().parents[3]


def _section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("## Projects\n", 1)[1].split("\n## ", 1)[0]


def test_readme_projects_section_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "checkout"
    shutil.copytree(ROOT / "examples" / "projects" / "churn", repo / "examples" / "projects" / "churn")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "example"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    monkeypatch.chdir(repo)
    (bash,) = re.findall(r"```bash\n(.*?)```", _section(), flags=re.DOTALL)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for line in bash.strip().splitlines():
        done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, (line, done.stderr)
    (cli_run,) = lockgate.search_runs(["0"])  # the dry run recorded nothing
    assert cli_run.info.status == RunStatus.FINISHED and cli_run.data.params["lr"] == "0.2"

    (block,) = re.findall(r"```python\n(.*?)```", _section(), flags=re.DOTALL)
    namespace: dict[str, object] = {"__name__": "readme_projects"}
    exec(compile(block, "README.md#projects", "exec"), namespace)  # noqa: S102 - our own docs
    again = namespace["again"]
    assert isinstance(again, lockgate.entities.Run)
    assert again.data.tags["lockgate.project.rerun_of"] == namespace["run"].info.run_id  # type: ignore[attr-defined]
