"""Real Airflow for the provider tests: a private AIRFLOW_HOME, a migrated metadata DB, DAG bundles.

The environment is set when this file is imported, before anything imports Airflow, because
Airflow reads its configuration once at import. ``dag.test()`` only runs DAGs it finds in a
configured bundle, so the test DAGs (``dags/``) and ``examples/airflow`` are both bundles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DAGS = HERE / "dags"
EXAMPLES = ROOT / "examples" / "airflow"

_home = Path(tempfile.mkdtemp(prefix="lockgate-airflow-home-"))
#: A bundle for DAGs that tests write at run time (the README's examples).
README_DAGS = _home / "readme-dags"
README_DAGS.mkdir()
os.environ.update(
    {
        "AIRFLOW_HOME": str(_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LAZY_DISCOVER_PROVIDERS": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [
                {"name": "lockgate-tests", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                 "kwargs": {"path": str(DAGS), "refresh_interval": 0}},
                {"name": "lockgate-examples", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                 "kwargs": {"path": str(EXAMPLES), "refresh_interval": 0}},
                {"name": "lockgate-readme", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                 "kwargs": {"path": str(README_DAGS), "refresh_interval": 0}},
            ]
        ),
    }
)
os.environ.pop("AIRFLOW__LOCKGATE__AUTO_TRACK", None)
for _path in (str(DAGS), str(EXAMPLES)):
    if _path not in sys.path:
        sys.path.insert(0, _path)


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> Iterator[Path]:
    """A migrated Airflow metadata database for the whole session (SQLite in AIRFLOW_HOME)."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, env=os.environ.copy(),
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"`airflow db migrate` failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    yield _home


@pytest.fixture
def readme_dags() -> Path:
    """The DAG bundle folder tests may write DAG files into."""
    return README_DAGS


@pytest.fixture(autouse=True)
def _fresh_connections() -> Iterator[None]:
    """Tests change connections between runs; the hook's per-process memo must not carry over."""
    from lockgate_airflow.hooks.lockgate import LockgateHook

    LockgateHook.forget_connections()
    yield
    LockgateHook.forget_connections()


@pytest.fixture
def lockgate_conn(monkeypatch: pytest.MonkeyPatch, sqlite_uri: str) -> str:
    """An Airflow connection ``lockgate_test`` (from the environment) pointing at a fresh SQLite store."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_LOCKGATE_TEST", json.dumps({"conn_type": "lockgate", "extra": {"tracking_uri": sqlite_uri}})
    )
    return sqlite_uri


def _task_states(dag_run) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = dag_run.get_task_instances(session=session)
        return {
            (ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): str(getattr(ti.state, "value", ti.state))
            for ti in tis
        }


@pytest.fixture
def task_states():  # type: ignore[no-untyped-def]
    """``task_states(dag_run)`` -> ``{task_id or task_id[map_index]: state}`` of a ``dag.test()`` run."""
    return _task_states
