"""System tags describing where a run came from: user, source, git commit, Python, host.

Tags use the ``lockgate.`` prefix; the few MLflow tags that MLflow's UI and tools read
(``mlflow.user``, ``mlflow.source.*``) are set alongside so they keep working.
"""

from __future__ import annotations

import functools
import getpass
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

__all__ = ["current_user", "run_context_tags"]


def current_user() -> str:
    """The acting user: ``LOCKGATE_USER``, else the login name."""
    user = os.environ.get("LOCKGATE_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


def _source_name() -> str:
    entry = os.environ.get("LOCKGATE_SOURCE_NAME")
    if entry:
        return entry
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if not argv0 or argv0 == "-c":
        return "<interactive>"
    return str(Path(argv0).resolve()) if os.path.exists(argv0) else argv0


@functools.lru_cache(maxsize=32)
def _git_state(directory: str) -> tuple[str, bool, str] | None:
    """(commit, dirty, remote url) of the repository holding ``directory``, once per process."""
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", directory, *args], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        try:
            remote = git("config", "--get", "remote.origin.url")
        except subprocess.CalledProcessError:
            remote = ""
        return commit, dirty, remote
    except (OSError, subprocess.SubprocessError):
        return None


def run_context_tags() -> dict[str, str]:
    """Tags recorded on every new run, describing the process that created it."""
    source = _source_name()
    tags = {
        "lockgate.user": current_user(),
        "lockgate.source.name": source,
        "lockgate.source.type": "NOTEBOOK" if "ipykernel" in sys.modules else "LOCAL",
        "lockgate.python.version": platform.python_version(),
        "lockgate.host": socket.gethostname(),
        "mlflow.user": current_user(),
        "mlflow.source.name": source,
        "mlflow.source.type": "NOTEBOOK" if "ipykernel" in sys.modules else "LOCAL",
    }
    directory = str(Path(source).parent) if os.path.isabs(source) else os.getcwd()
    state = _git_state(directory)
    if state:
        commit, dirty, remote = state
        tags["lockgate.source.git.commit"] = commit
        tags["lockgate.source.git.dirty"] = "true" if dirty else "false"
        tags["mlflow.source.git.commit"] = commit
        if remote:
            tags["lockgate.source.git.repo_url"] = remote
    return tags
