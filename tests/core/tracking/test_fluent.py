"""The fluent API as a user writes it, against the embedded SQLite default."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import lockgate
import pytest
from lockgate.errors import InvalidArgument


def test_issue_example_runs_on_embedded_default(lockgate_home: Path) -> None:
    lockgate.set_experiment("churn")
    with lockgate.start_run(run_name="baseline") as run:
        lockgate.log_params({"lr": 0.01, "depth": 6})
        for step in range(100):
            lockgate.log_metric("loss", 1 / (step + 1), step=step)
        lockgate.set_tag("team", "risk")
        with lockgate.start_run(run_name="fold-1", nested=True) as child:
            lockgate.log_metric("auc", 0.91)
    assert (lockgate_home / "lockgate.db").exists()
    client = lockgate.LockgateClient()
    stored = client.get_run(run.info.run_id)
    assert stored.info.status.value == "FINISHED"
    assert stored.data.params == {"lr": "0.01", "depth": "6"}
    assert stored.data.metrics == {"loss": 0.01}
    assert stored.data.tags["team"] == "risk"
    kid = client.get_run(child.info.run_id)
    assert kid.info.parent_run_id == run.info.run_id and kid.data.metrics == {"auc": 0.91}
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")][:3] == [1.0, 0.5, 1 / 3]
    assert lockgate.active_run() is None
    assert lockgate.last_active_run().info.run_id == child.info.run_id


def test_exception_marks_run_failed() -> None:
    with pytest.raises(ZeroDivisionError), lockgate.start_run() as run:
        _ = 1 / 0
    assert lockgate.get_run(run.info.run_id).info.status.value == "FAILED"
    assert lockgate.active_run() is None


def test_second_top_level_run_needs_nested() -> None:
    with lockgate.start_run() as outer, pytest.raises(InvalidArgument, match=outer.info.run_id):
        lockgate.start_run()
    lockgate.end_run()  # no active run: harmless


def test_resume_run_by_env(monkeypatch: pytest.MonkeyPatch) -> None:
    client = lockgate.LockgateClient()
    created = client.create_run("0", run_name="made-elsewhere")
    monkeypatch.setenv("LOCKGATE_RUN_ID", created.info.run_id)
    with lockgate.start_run() as run:
        lockgate.log_metric("x", 1.0)
    assert run.info.run_id == created.info.run_id
    assert client.get_run(created.info.run_id).data.metrics == {"x": 1.0}


def test_threads_have_their_own_active_run() -> None:
    lockgate.set_experiment("threads")
    seen: dict[str, str] = {}

    def work(name: str) -> None:
        with lockgate.start_run(run_name=name) as run:
            lockgate.log_metric("id", float(len(name)))
            seen[name] = run.info.run_id

    threads = [threading.Thread(target=work, args=(f"t{'x' * i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client = lockgate.LockgateClient()
    for name, run_id in seen.items():
        assert client.get_run(run_id).data.metrics == {"id": float(len(name))}


def test_tracking_uri_env_points_at_postgres(postgres_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKGATE_TRACKING_URI", postgres_uri)
    lockgate.fluent._reset_for_tests()
    lockgate.set_experiment("pg")
    with lockgate.start_run() as run:
        lockgate.log_metric("m", 3.0)
    assert lockgate.LockgateClient(postgres_uri).get_run(run.info.run_id).data.metrics == {"m": 3.0}
    assert not (Path(os.environ["LOCKGATE_HOME"]) / "lockgate.db").exists()


def test_import_is_cheap() -> None:
    import subprocess
    import sys

    code = (
        "import sys, lockgate; "
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'fastapi', 'pandas', 'numpy', 'alembic') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
