"""integrations/prefect/README.md's shared-server section, run as written.

The bash block that sets up the server runs under bash (its ``lockgate server`` line as a
background process), the Python block saves the block into the test's Prefect server, and
the bash block for the worker runs the example once with ``LOCKGATE_PREFECT_CREDENTIALS``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import lockgate
import pytest
from lockgate.entities import RunStatus
from prefect_helpers import free_port

pytestmark = pytest.mark.slow  # a server process and the example flow in a subprocess

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "integrations" / "prefect" / "README.md"


def _section() -> str:
    text = README.read_text()
    start = text.index("## Running against a shared Lockgate server")
    return text[start:text.index("\n## ", start + 1)]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", _section(), flags=re.DOTALL)


def _bash(script: str, *, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
    return done.stdout


def test_the_shared_server_section_has_the_three_blocks() -> None:
    (server_setup, worker) = _blocks("bash")
    (save_block,) = _blocks("python")
    assert "lockgate users create-token" in server_setup and "lockgate server" in server_setup
    assert "LockgateCredentials(" in save_block and '.save("lockgate-prod"' in save_block
    assert "LOCKGATE_PREFECT_CREDENTIALS=lockgate-prod" in worker


def test_the_shared_server_section_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL

    server_setup, worker = _blocks("bash")
    (save_block,) = _blocks("python")
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "BOT_PASSWORD": "a-long-password",
        "LOCKGATE_DB": f"sqlite:///{tmp_path / 'lockgate.db'}",
        "ARTIFACTS": str(tmp_path / "artifacts"),
        "PORT": str(port),
    }
    *setup_lines, server_line = _logical_lines(server_setup)
    token = _bash("\n".join(setup_lines), env=env, timeout=120).strip().splitlines()[-1]
    assert token.startswith("lgt_")
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(["bash", "-c", "exec " + server_line], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(url, server)
        monkeypatch.setenv("LOCKGATE_URL", url)
        monkeypatch.setenv("LOCKGATE_TOKEN", token)
        exec(compile(save_block, str(README), "exec"), {"__name__": "readme_block"})  # noqa: S102

        worker_env = {
            **env, "PREFECT_API_URL": PREFECT_API_URL.value(), "TMPDIR": str(tmp_path),
            "LOCKGATE_HOME": str(tmp_path / "worker-home"),
        }
        _bash(worker, env=worker_env, timeout=600)

        client = lockgate.LockgateClient(url, token=token)
        champion = client.get_model_version_by_alias("churn", "champion")
        assert champion.version == 1
        run = client.get_run(champion.run_id)  # type: ignore[arg-type]
        assert run.info.status == RunStatus.FINISHED
        assert run.data.tags["lockgate.prefect.flow_name"] == "retrain-churn"
        assert run.data.metrics["val_auc"] >= 0.9
        (move,) = client.get_promotion_history("churn", alias="champion")
        assert move.actor == "prefect-bot"  # the token's user, as the section says
        assert not (tmp_path / "worker-home" / "lockgate.db").exists()
    finally:
        server.terminate()
        server.wait(timeout=20)


def _logical_lines(script: str) -> list[str]:
    """The block's commands, with backslash continuations joined."""
    return [line for line in script.replace("\\\n", " ").splitlines() if line.strip()]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"lockgate server exited with {proc.returncode}"
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"lockgate server at {url} did not answer")
