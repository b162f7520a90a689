"""Every snippet of integrations/dagster/README.md runs, and its pipeline works, embedded and on a server."""

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster_deployment import LockgateServer
from lockgate import LockgateClient

README = Path(__file__).resolve().parents[3] / "integrations" / "dagster" / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)


def _run(block: str, name: str) -> dict:
    namespace: dict = {"__name__": name}
    exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


def test_readme_snippets_are_all_covered() -> None:
    # the third (build_project_asset) runs in test_dagster_project.py
    assert len(_blocks("python")) == 3 and len(_blocks("bash")) == 1
    assert not re.findall(r"```(?!python\n|bash\n|\n)(\w+)", README.read_text())


def test_readme_example_runs(instance: dg.DagsterInstance) -> None:
    namespace = _run(_blocks("python")[0], "readme_example")
    defs = namespace["defs"]
    dg.Definitions.validate_loadable(defs)
    assets = [namespace[n] for n in ("features", "churn_model", "scores")]
    result = dg.materialize([*assets, *namespace["gate"]], instance=instance, resources=defs.resources)
    assert result.success
    assert len(result.output_for_node("scores")) == 10
    client = LockgateClient()
    assert client.get_model_version_by_alias("churn_model", "champion").version == 1


def test_readme_shared_server_setup_runs(
    tmp_path: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = LockgateServer(tmp_path / "server")
    (shell,) = _blocks("bash")
    env = {**os.environ, "LOCKGATE_DB": server.db_uri, "BOT_PASSWORD": "bot-password-1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", shell + 'echo "$LOCKGATE_TRACKING_TOKEN"'],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    server.start()
    try:
        monkeypatch.setenv("LOCKGATE_TRACKING_URI", server.url)
        monkeypatch.setenv("LOCKGATE_TRACKING_TOKEN", token)
        pipeline = _run(_blocks("python")[0], "readme_example")
        resources = _run(_blocks("python")[1], "readme_server")["resources"]
        assets = [pipeline[n] for n in ("features", "churn_model", "scores")]
        result = dg.materialize([*assets, *pipeline["gate"]], instance=instance, resources=resources)
        assert result.success
        client = LockgateClient(server.url, token=token)
        champion = client.get_model_version_by_alias("churn_model", "champion")
        assert champion.version == 1
        run = client.get_run(str(champion.run_id))
        assert run.data.tags["lockgate.dagster.run_id"] == result.run_id
        assert client.get_experiment_by_name("churn") is not None
        assert len(result.output_for_node("scores")) == 10
    finally:
        server.stop()
