"""The ``lockgate`` command line against a real SQLite store."""

from __future__ import annotations

import json
import re

import lockgate
import pytest
from lockgate.cli import app
from typer.testing import CliRunner

runner = CliRunner(env={"COLUMNS": "250"})


@pytest.fixture
def churn_runs() -> list[str]:
    lockgate.set_experiment("churn")
    ids = []
    for depth, loss in ((6, 0.02), (6, 0.2), (3, 0.01)):
        with lockgate.start_run(run_name=f"d{depth}-{loss}") as run:
            lockgate.log_params({"depth": depth})
            lockgate.log_metric("loss", loss)
            ids.append(run.info.run_id)
    return ids


def test_runs_search_table_and_json(churn_runs: list[str]) -> None:
    result = runner.invoke(app, ["runs", "search", "--experiment", "churn",
                                 "--filter", "metrics.loss < 0.05 and params.depth = '6'"])
    assert result.exit_code == 0, result.output
    assert "d6-0.02" in result.output and "d6-0.2" not in result.output and "d3-0.01" not in result.output
    result = runner.invoke(app, ["runs", "search", "-e", "churn", "--order-by", "metrics.loss ASC", "-o", "json"])
    assert result.exit_code == 0, result.output
    names = [r["info"]["run_name"] for r in json.loads(result.stdout)["runs"]]
    assert names == ["d3-0.01", "d6-0.02", "d6-0.2"]


def test_bad_filter_is_one_clear_line(churn_runs: list[str]) -> None:
    result = runner.invoke(app, ["runs", "search", "-e", "churn", "--filter", "metrics.loss <<< 1"])
    assert result.exit_code == 1
    assert "INVALID_PARAMETER_VALUE" in result.output and "Traceback" not in result.output


def test_unknown_experiment_and_run(churn_runs: list[str]) -> None:
    result = runner.invoke(app, ["runs", "search", "-e", "nope"])
    assert result.exit_code == 1 and "'nope'" in result.output
    result = runner.invoke(app, ["runs", "get", "f" * 32])
    assert result.exit_code == 1 and "RESOURCE_DOES_NOT_EXIST" in result.output


def test_runs_get_delete_restore_gc(churn_runs: list[str]) -> None:
    run_id = churn_runs[0]
    result = runner.invoke(app, ["runs", "get", run_id, "-o", "json"])
    assert json.loads(result.stdout)["data"]["params"] == {"depth": "6"}
    assert runner.invoke(app, ["runs", "delete", run_id]).exit_code == 0
    assert lockgate.get_run(run_id).info.lifecycle_stage.value == "deleted"
    assert runner.invoke(app, ["runs", "restore", run_id]).exit_code == 0
    assert lockgate.get_run(run_id).info.lifecycle_stage.value == "active"
    runner.invoke(app, ["runs", "delete", run_id])
    result = runner.invoke(app, ["gc"])
    assert result.exit_code == 0 and "1 run(s)" in result.output
    with pytest.raises(lockgate.errors.NotFound):
        lockgate.get_run(run_id)
    assert runner.invoke(app, ["gc", "--older-than", "soon"]).exit_code == 2


def test_experiments_and_db_commands(churn_runs: list[str]) -> None:
    result = runner.invoke(app, ["experiments", "list", "-o", "json"])
    assert {e["name"] for e in json.loads(result.stdout)} == {"Default", "churn"}
    assert runner.invoke(app, ["experiments", "create", "second"]).exit_code == 0
    assert runner.invoke(app, ["experiments", "create", "second"]).exit_code == 1
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0 and "head" in result.output
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output


def test_metric_history_command(churn_runs: list[str]) -> None:
    result = runner.invoke(app, ["runs", "history", churn_runs[0], "loss", "-o", "json"])
    assert [p["value"] for p in json.loads(result.stdout)] == [0.02]


def test_every_command_prints_times_in_one_format() -> None:
    from lockgate.client import LockgateClient

    client = LockgateClient()
    exp = client.create_experiment("timed")
    run = client.create_run(exp, run_name="timed-run", start_time=1_767_225_600_000)  # 2026-01-01 00:00 UTC
    client.log_metric(run.info.run_id, "loss", 0.5, step=0, timestamp=1_767_229_200_000)
    client.create_registered_model("timed-model")
    client.create_model_version("timed-model", source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    result = runner.invoke(app, ["runs", "search", "-e", "timed"])
    assert result.exit_code == 0 and "2026-01-01T00:00:00Z" in result.output, result.output
    result = runner.invoke(app, ["runs", "history", run.info.run_id, "loss"])
    assert result.exit_code == 0 and "2026-01-01T01:00:00Z" in result.output, result.output
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    for args in (["experiments", "list"], ["models", "list"], ["models", "versions", "timed-model"],
                 ["models", "events"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert stamp.search(result.output), (args, result.output)
