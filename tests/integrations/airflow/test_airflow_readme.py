"""Every Python block of integrations/airflow/README.md runs, the DAG one with dag.test()."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from lockgate import LockgateClient

README = Path(__file__).resolve().parents[3] / "integrations" / "airflow" / "README.md"


def readme_blocks(language: str = "python") -> list[str]:
    """The README's fenced blocks in ``language``, in order."""
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)


def _blocks() -> list[str]:
    return readme_blocks("python")


def test_readme_has_the_documented_examples() -> None:
    blocks = _blocks()
    assert len(blocks) == 5
    assert "LockgateHook" in blocks[0] and "@task.lockgate" in blocks[1]
    # the RunProjectOperator snippet runs in test_airflow_project.py
    assert "RunProjectOperator" in blocks[2]
    # the asset DAG and the shared-server snippets run in test_airflow_topology.py, against a
    # real deployment
    assert "model_alias_asset" in blocks[3]
    assert "get_conn()" in blocks[4]
    assert any('--conn-host "$LOCKGATE_URL"' in b for b in readme_blocks("bash"))


def test_readme_hook_example_runs() -> None:
    namespace: dict = {"__name__": "readme_hook"}
    exec(compile(_blocks()[0], str(README), "exec"), namespace)  # noqa: S102 - our own documentation
    client = namespace["client"]
    assert isinstance(client, LockgateClient)
    assert client.tracking_uri == LockgateClient().tracking_uri


def test_readme_dag_example_runs(readme_dags: Path, task_states) -> None:  # type: ignore[no-untyped-def]
    path = readme_dags / "readme_retrain.py"
    path.write_text(_blocks()[1])
    spec = importlib.util.spec_from_file_location("readme_retrain", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    dag_run = module.dag_object.test()
    assert task_states(dag_run) == {"train": "success", "register": "success", "promote": "success"}
    client = LockgateClient()
    champion = client.get_model_version_by_alias("readme-churn", "champion")
    assert champion.version == 1
    run = client.get_run(champion.run_id)
    assert run.data.params == {"max_iter": "5000"}
    assert run.data.metrics["train_accuracy"] > 0.9
    assert run.data.tags["lockgate.airflow.dag_id"] == "readme_retrain"
