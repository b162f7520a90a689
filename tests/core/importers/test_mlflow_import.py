"""``lockgate import mlflow`` end to end: a real ``mlflow server`` filled by the stock client,
imported over REST and from its database, resumed after the server dies half way."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from lockgate.cli.root import build_app
from lockgate.client import LockgateClient
from lockgate.entities import ViewType
from lockgate.importers.mlflow import ImportOptions, LockgateWriter, import_mlflow, open_source
from lockgate.importers.mlflow.records import parse_run
from lockgate.store import clear_store_cache
from lockgate.store.sql.logged_models import SqlLoggedModels
from mlflow import MlflowClient
from mlflow_fill import FilledMlflow
from sqlalchemy import create_engine, func, select, text
from typer.testing import CliRunner

# The first test also pays for starting and filling the session's mlflow server: about a
# minute on a quiet machine, many more on a loaded one.
pytestmark = pytest.mark.timeout(1800)

runner = CliRunner(env={"COLUMNS": "250"})
app = build_app()


def _import(dest: str, *args: str) -> Any:
    return runner.invoke(app, ["import", "mlflow", "--tracking-uri", dest, *args])


def _metric_rows(dest: str) -> int:
    engine = create_engine(dest)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM metrics")).scalar_one())
    finally:
        engine.dispose()


def _counts(dest: str) -> dict[str, Any]:
    engine = create_engine(dest)
    try:
        with engine.connect() as conn:
            counts: dict[str, Any] = {
                t: int(conn.execute(select(func.count()).select_from(text(t))).scalar_one())
                for t in ("experiments", "runs", "metrics", "params", "tags", "run_inputs", "logged_models",
                          "registered_models", "model_versions", "model_aliases", "registry_events")}
            # Rows whose times a careless re-run would touch (deletion and update times).
            for t in ("experiments", "runs", "model_versions", "registered_models"):
                counts[f"{t} rows"] = sorted(map(tuple, conn.execute(text(f"SELECT * FROM {t}")).all()), key=repr)
            return counts
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def imported(mlflow_source: FilledMlflow, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One full import over REST into a fresh Lockgate, shared by the read-back checks."""
    home = tmp_path_factory.mktemp("lockgate-dest")
    dest = f"sqlite:///{home / 'lockgate.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOCKGATE_HOME", str(home))
        clear_store_cache()
        first = _import(dest, "--from", mlflow_source.url)
        before = _counts(dest)
        second = _import(dest, "--from", mlflow_source.url)
        after = _counts(dest)
    clear_store_cache()
    return {"dest": dest, "home": home, "first": first, "second": second, "before": before, "after": after}


def _client(imported: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> LockgateClient:
    monkeypatch.setenv("LOCKGATE_HOME", str(imported["home"]))
    clear_store_cache()
    return LockgateClient(imported["dest"])


def test_full_import_summary_and_missing_artifact(imported: dict[str, Any], mlflow_source: FilledMlflow) -> None:
    first = imported["first"]
    # The one unreadable artifact is reported (and makes the exit code 1); the rest moved.
    assert first.exit_code == 1, first.output
    assert f"run {mlflow_source.manifest['broken']}: artifacts under 'lost' cannot be listed" in first.output
    assert "Traceback" not in first.output
    for line in ("runs", "metric points", "model versions", "aliases"):
        assert line in first.output


def test_rerun_changes_nothing(imported: dict[str, Any]) -> None:
    second = imported["second"]
    assert second.exit_code == 0, second.output
    assert imported["before"] == imported["after"]
    assert imported["before"]["runs"] == 9
    assert imported["before"]["model_versions"] == 4


def test_runs_keep_ids_params_tags_nesting_status_times(
    imported: dict[str, Any], mlflow_source: FilledMlflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = MlflowClient(mlflow_source.url)
    lg = _client(imported, monkeypatch)
    m = mlflow_source.manifest
    for run_id in [m["parent"], *m["children"], m["grandchild"], *m["fraud_runs"]]:
        want, got = src.get_run(run_id), lg.get_run(run_id)
        assert got.info.run_id == run_id
        assert got.info.run_name == want.info.run_name
        assert got.info.status.value == want.info.status
        assert (got.info.start_time, got.info.end_time) == (want.info.start_time, want.info.end_time)
        assert got.info.lifecycle_stage.value == want.info.lifecycle_stage
        assert got.data.params == want.data.params
        assert {k: v for k, v in got.data.tags.items() if k != "lockgate.import.source"} == want.data.tags
        assert got.data.tags["lockgate.import.source"] == mlflow_source.url
    assert lg.get_run(m["children"][0]).info.parent_run_id == m["parent"]
    assert lg.get_run(m["grandchild"]).info.parent_run_id == m["children"][0]
    assert lg.get_run(m["fraud_runs"][2]).info.lifecycle_stage.value == "deleted"
    exp = lg.get_experiment_by_name("churn")
    assert exp is not None and exp.tags["team"] == "retention"
    retired = lg.get_experiment_by_name("retired")
    assert retired is not None and retired.lifecycle_stage.value == "deleted"
    assert lg.get_run(m["old"]).info.lifecycle_stage.value == "deleted"
    inputs = lg.get_run(m["grandchild"]).inputs.dataset_inputs
    assert [(i.dataset.name, i.dataset.source, i.context) for i in inputs] == [
        ("churn-train", src.get_run(m["grandchild"]).inputs.dataset_inputs[0].dataset.source, "training")]


def test_full_histories_with_nan_and_inf(
    imported: dict[str, Any], mlflow_source: FilledMlflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = MlflowClient(mlflow_source.url)
    lg = _client(imported, monkeypatch)
    m = mlflow_source.manifest
    loss = lg.get_metric_history(m["grandchild"], "loss")
    assert len(loss) == 100_000
    assert [(p.step, p.value, p.timestamp) for p in loss[:3]] == [
        (p.step, p.value, p.timestamp) for p in src.get_metric_history(m["grandchild"], "loss")[:3]]
    assert loss[-1].step == 99_999 and loss[-1].value == pytest.approx(1 / 100_000)
    special = [p.value for p in lg.get_metric_history(m["parent"], "special")]
    want = [p.value for p in src.get_metric_history(m["parent"], "special")]
    assert math.isnan(special[0]) and math.isnan(want[0])
    assert special[1:] == want[1:]  # MLflow keeps +-inf as +-max float; so do we, after import
    assert lg.get_run(m["parent"]).data.metrics["special"] == 0.25


def test_artifacts_logged_model_and_registry(
    imported: dict[str, Any], mlflow_source: FilledMlflow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    src = MlflowClient(mlflow_source.url)
    lg = _client(imported, monkeypatch)
    m = mlflow_source.manifest
    gid = m["grandchild"]
    assert lg.artifact_repository(f"runs:/{gid}").read_text("notes/readme.txt") == "hello from mlflow"
    assert json.loads(lg.artifact_repository(f"runs:/{gid}").read_text("config.json")) == {"threshold": 0.5}
    # The logged model keeps its id (models:/m-... names it), files included.
    logged = SqlLoggedModels(imported["dest"]).get(m["logged_model"])
    assert logged.source_run_id == gid
    assert lg.artifact_repository(logged.artifact_location).exists("MLmodel")
    versions = {v.version: v for v in lg.search_model_versions(filter_string="name='churn-model'")}
    want = {int(v.version): v for v in src.search_model_versions("name='churn-model'")}
    assert sorted(versions) == sorted(want) == [1, 2, 3]
    for number, version in versions.items():
        assert version.current_stage == want[number].current_stage
        assert version.run_id == want[number].run_id
        assert version.source == want[number].source
    assert versions[2].tags == {"validated": "yes"}
    model = lg.get_registered_model("churn-model")
    assert model.aliases == {"champion": 2, "challenger": 3}
    assert model.description == "churn classifier" and model.tags["owner"] == "retention"
    assert lg.resolve_model_uri("models:/churn-model@champion").version == 2
    assert lg.resolve_model_uri("models:/churn-model/Production").version == 2
    # models:/ URIs keep working for artifacts: the version's files are the run's files here.
    assert lg.artifact_repository("models:/churn-model/1").exists("MLmodel")
    assert lg.artifact_repository("models:/churn-model@challenger").exists("MLmodel")


def test_dry_run_writes_nothing(mlflow_source: FilledMlflow, sqlite_uri: str) -> None:
    result = _import(sqlite_uri, "--from", mlflow_source.url, "--dry-run", "--experiments", "churn,fraud")
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output and "would import" in result.output
    counts = _counts(sqlite_uri)
    assert counts["runs"] == 0 and counts["experiments"] == 1  # only Lockgate's own Default


def test_selected_experiments_from_the_database(
    mlflow_source: FilledMlflow, sqlite_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _import(sqlite_uri, "--from", mlflow_source.db_uri, "--experiments", "churn",
                     "--source-artifacts", str(mlflow_source.artifacts_dir))
    assert result.exit_code == 0, result.output
    lg = LockgateClient(sqlite_uri)
    assert lg.get_experiment_by_name("fraud") is None
    exp = lg.get_experiment_by_name("churn")
    assert exp is not None
    runs = lg.search_runs([exp.experiment_id], view_type=ViewType.ALL, max_results=100)
    assert len(runs) == 4
    assert len(lg.get_metric_history(mlflow_source.manifest["grandchild"], "loss")) == 100_000
    assert lg.artifact_repository(f"runs:/{mlflow_source.manifest['grandchild']}").read_text(
        "notes/readme.txt") == "hello from mlflow"
    # Only the model whose versions come from churn's runs.
    assert [r.name for r in lg.search_registered_models()] == ["churn-model"]
    assert lg.get_registered_model("churn-model").aliases == {"champion": 2, "challenger": 3}


def test_clashes_are_reported_not_merged_unless_asked(
    mlflow_source: FilledMlflow, sqlite_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lg = LockgateClient(sqlite_uri)
    exp_id = lg.create_experiment("churn")
    own = lg.create_run(exp_id, run_name="mine").info.run_id
    lg.create_registered_model("churn-model")
    result = _import(sqlite_uri, "--from", mlflow_source.url, "--experiments", "churn", "--no-artifacts")
    assert result.exit_code == 1, result.output
    assert "Experiment 'churn' already exists in Lockgate with 1 run(s) of its own: skipped" in result.output
    assert "Pass --merge" in result.output
    assert [r.info.run_id for r in lg.search_runs([exp_id])] == [own]
    clear_store_cache()
    merged = _import(sqlite_uri, "--from", mlflow_source.url, "--experiments", "churn", "--merge", "--no-artifacts")
    assert merged.exit_code == 0, merged.output
    assert len(lg.search_runs([exp_id], view_type=ViewType.ALL)) == 5
    assert sorted(v.version for v in lg.search_model_versions(filter_string="name='churn-model'")) == [1, 2, 3]


def test_unreachable_source_is_one_clear_line(services: Any, sqlite_uri: str, tmp_path: Path,
                                              mlflow_source: FilledMlflow) -> None:
    port, source_url = services.free_port(), mlflow_source.url
    result = _import(sqlite_uri, "--from", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert f"MLflow server http://127.0.0.1:{port} did not answer" in result.output
    assert "Traceback" not in result.output
    missing = _import(sqlite_uri, "--from", f"sqlite:///{tmp_path / 'nope.db'}")
    assert missing.exit_code == 1 and "does not exist" in missing.output
    wrong = _import(sqlite_uri, "--from", "mlflow.db")
    assert wrong.exit_code == 1 and "Unsupported MLflow source" in wrong.output
    unknown = _import(sqlite_uri, "--from", "http://127.0.0.1:1", "--experiments", "x")
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output
    # Into a server that does not answer: said plainly.
    to_server = runner.invoke(app, ["import", "mlflow", "--to", f"http://127.0.0.1:{port}", "--from", source_url])
    assert to_server.exit_code == 1 and "Traceback" not in to_server.output
    assert f"Could not reach the Lockgate server at http://127.0.0.1:{port}" in to_server.output


def test_unknown_fields_in_responses_are_ignored(mlflow_source: FilledMlflow) -> None:
    import httpx

    body = httpx.post(f"{mlflow_source.url}/api/2.0/mlflow/runs/search",
                      json={"experiment_ids": [mlflow_source.manifest["experiments"]["churn"]],
                            "max_results": 50}).json()
    plain = [parse_run(r) for r in body["runs"]]
    for run in body["runs"]:
        run["future_field"] = {"x": 1}
        run["info"]["new_info"] = "v"
        run["data"]["metrics"] = [{**m, "unit": "s"} for m in run["data"].get("metrics", [])]
        run.setdefault("inputs", {})["dataset_inputs"] = [
            {**i, "extra": True} for i in run["inputs"].get("dataset_inputs", [])]
    assert [parse_run(r) for r in body["runs"]] == plain
    assert {r.run_id for r in plain} >= {mlflow_source.manifest["grandchild"]}


def test_interrupted_import_resumes_without_duplicates(
    mlflow_source: FilledMlflow, services: Any, sqlite_uri: str, tmp_path: Path
) -> None:
    # A second mlflow server on the same database: this one dies half way through the import.
    server = services.start_mlflow_server(mlflow_source.db_uri, mlflow_source.artifacts_dir, timeout=300)

    class KillHalfway:
        def start(self, task: str, *, total: int | None = None) -> None:
            return None

        def advance(self, task: str, amount: int = 1) -> None:
            if task == "metric points" and amount and server.process.poll() is None:
                written = _metric_rows(sqlite_uri)
                if written >= 20_000:
                    server.stop(kill=True)

    options = ImportOptions(experiments=["churn"], batch_points=10_000)
    try:
        source = open_source(server.url)
        report = import_mlflow(source, LockgateWriter(sqlite_uri, source_label=source.label),
                               options=options, progress=KillHalfway())
        source.close()
        assert report.interrupted is not None and "did not answer" in report.interrupted
        partial = _metric_rows(sqlite_uri)
        assert 0 < partial < 100_000
        # Same server address again, as after a restart: the import resumes and completes.
        server = services.start_mlflow_server(mlflow_source.db_uri, mlflow_source.artifacts_dir,
                                              port=server.port, timeout=300)
        source = open_source(server.url)
        again = import_mlflow(source, LockgateWriter(sqlite_uri, source_label=source.label), options=options)
        source.close()
    finally:
        server.stop()
    assert again.interrupted is None and again.ok, again.problems
    lg = LockgateClient(sqlite_uri)
    gid = mlflow_source.manifest["grandchild"]
    history = lg.get_metric_history(gid, "loss")
    assert len(history) == 100_000
    assert len({p.step for p in history}) == 100_000
    exp = lg.get_experiment_by_name("churn")
    assert exp is not None and len(lg.search_runs([exp.experiment_id], view_type=ViewType.ALL)) == 4
    assert _metric_rows(sqlite_uri) == 100_000 + 4 + 2  # loss, special (4), two auc points


def _doc_commands(path: Path, heading: str | None = None) -> list[str]:
    text = path.read_text()
    if heading:
        text = text.split(heading, 1)[1]
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.startswith("lockgate import")]


def test_readme_and_docs_commands_run(imported: dict[str, Any], mlflow_source: FilledMlflow,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).parents[3]
    commands = (_doc_commands(root / "README.md", "## Moving from MLflow")
                + _doc_commands(root / "docs" / "migration.md"))
    assert len(commands) == 7
    monkeypatch.setenv("LOCKGATE_HOME", str(imported["home"]))
    for command in commands:
        line = (command.replace("http://old-mlflow:5000", mlflow_source.url)
                .replace("sqlite:///mlflow.db", mlflow_source.db_uri)
                .replace("/srv/mlflow-artifacts", str(mlflow_source.artifacts_dir))
                .replace("http://lockgate:8080", imported["dest"]))
        clear_store_cache()
        result = _import(imported["dest"], *line.split()[3:])
        # Everything is already here (the module's import ran first): nothing new, nothing lost.
        assert result.exit_code == 0, (line, result.output)
        assert "already here" in result.output and "Traceback" not in result.output
    assert _counts(imported["dest"]) == imported["after"]
