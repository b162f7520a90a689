"""Project tests: one warm uv environment cache shared by the session, real git repos in tmp_path."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "projects" / "churn"


@pytest.fixture(scope="session")
def projects_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("projects-cache")


@pytest.fixture(autouse=True)
def _shared_env_cache(projects_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test has its own LOCKGATE_HOME (tracking store); environments are shared so that
    # only the first test builds one.
    monkeypatch.setenv("LOCKGATE_PROJECTS_HOME", str(projects_cache))
    monkeypatch.delenv("LOCKGATE_RUN_ID", raising=False)
    monkeypatch.delenv("LOCKGATE_TRACKING_URI", raising=False)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """A real git repository holding the given files (path -> text) or the churn example."""

    def make(files: dict[str, str] | None = None, *, name: str = "repo", sub: str = "") -> Path:
        root = tmp_path / name
        target = root / sub if sub else root
        if files is None:
            shutil.copytree(EXAMPLE, target)
        else:
            for rel, text in files.items():
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                (target / rel).write_text(text)
        git("init", "--quiet", "-b", "main", cwd=root)
        git("add", "-A", cwd=root)
        git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "--quiet", "-m", "init", cwd=root)
        return root

    return make
