"""Artifact routing belongs to each client: two live servers with auth on, one token each, in one
process. Logging, listing, downloading, runs:/ and models:/ resolution and model loading each
reach the client's own server with its own token, however the calls interleave."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lockgate
import numpy as np
import pytest
from lockgate import LockgateClient
from lockgate.artifacts import download_artifact_uri, get_artifact_repository
from lockgate.errors import InvalidArgument, NotFound
from sklearn.linear_model import LinearRegression
from typer.testing import CliRunner

X = np.array([[0.0], [1.0], [2.0], [3.0]])


def _users(db: str, *args: str) -> str:
    from lockgate.cli import app

    result = CliRunner().invoke(app, ["users", *args, "--backend-store-uri", db])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _auth_server(start_server: Callable[..., str], tmp_path: Path, name: str) -> tuple[str, str, Path]:
    """(url, token of the server's only user, artifacts destination)."""
    db = f"sqlite:///{tmp_path / f'{name}.db'}"
    artifacts = tmp_path / f"{name}-artifacts"
    artifacts.mkdir()
    _users(db, "create", f"user-{name}", "--admin", "--password", f"{name}-secret-123")
    token = _users(db, "create-token", f"user-{name}", "--name", "routing")
    url = start_server(backend_store_uri=db, artifacts_destination=str(artifacts), auth=True)
    return url, token, artifacts


def test_two_servers_two_tokens_one_process(
    start_server: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("TOKEN", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"LOCKGATE_TRACKING_{var}", raising=False)
        monkeypatch.delenv(f"MLFLOW_TRACKING_{var}", raising=False)
    url_a, token_a, dir_a = _auth_server(start_server, tmp_path, "a")
    url_b, token_b, dir_b = _auth_server(start_server, tmp_path, "b")
    assert token_a != token_b
    a, b = LockgateClient(url_a, token=token_a), LockgateClient(url_b, token=token_b)
    # Both clients (and both stores) exist before any artifact moves: the last one created
    # must not capture the other's traffic.
    run_a = a.create_run(a.create_experiment("routing"))
    run_b = b.create_run(b.create_experiment("routing"))
    exp_a, exp_b = run_a.info.experiment_id, run_b.info.experiment_id
    assert run_a.info.artifact_uri == f"mlflow-artifacts:/{exp_a}/{run_a.info.run_id}/artifacts"
    assert run_b.info.artifact_uri.startswith("mlflow-artifacts:/")

    a.log_text(run_a.info.run_id, "written through A", "who.txt")
    b.log_text(run_b.info.run_id, "written through B", "who.txt")
    local = tmp_path / "bundle"
    local.mkdir()
    (local / "data.csv").write_text("x\n1\n")
    b.log_artifacts(run_b.info.run_id, local, "inputs")
    a.log_artifact(run_a.info.run_id, local / "data.csv")

    def stored(root: Path, exp: str, run_id: str) -> list[str]:
        base = root / exp / run_id / "artifacts"
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())

    assert stored(dir_a, exp_a, run_a.info.run_id) == ["data.csv", "who.txt"]
    assert stored(dir_b, exp_b, run_b.info.run_id) == ["inputs/data.csv", "who.txt"]
    assert not (dir_a / exp_b / run_b.info.run_id).exists()
    assert not (dir_b / exp_a / run_a.info.run_id).exists()
    assert (dir_a / exp_a / run_a.info.run_id / "artifacts" / "who.txt").read_text() == "written through A"

    assert [(f.path, f.is_dir) for f in a.list_artifacts(run_a.info.run_id)] == [
        ("data.csv", False), ("who.txt", False)]
    assert [(f.path, f.is_dir) for f in b.list_artifacts(run_b.info.run_id)] == [
        ("inputs", True), ("who.txt", False)]
    got_b = Path(b.download_artifacts(run_b.info.run_id, "who.txt", tmp_path / "from-b"))
    got_a = Path(a.download_artifacts(run_a.info.run_id, "who.txt", tmp_path / "from-a"))
    assert (got_a.read_text(), got_b.read_text()) == ("written through A", "written through B")
    # runs:/ resolves through the caller's client, not a global one.
    via_a = download_artifact_uri(f"runs:/{run_a.info.run_id}/who.txt", client=a, dst_path=tmp_path / "ra")
    assert Path(via_a).read_text() == "written through A"
    with pytest.raises(NotFound):  # A's run does not exist on B
        download_artifact_uri(f"runs:/{run_a.info.run_id}/who.txt", client=b)
    assert get_artifact_repository(run_b.info.artifact_uri, client=b).read_text("who.txt") == "written through B"
    with pytest.raises(InvalidArgument, match="artifact proxy"):  # no client, no server to ask
        get_artifact_repository(run_a.info.artifact_uri)

    # The same model name and version on both servers, different models: each loads its own.
    model_a = LinearRegression().fit(X, 2 * X[:, 0] + 1)
    model_b = LinearRegression().fit(X, -3 * X[:, 0])
    info_a = lockgate.sklearn.log_model(model_a, name="model", run_id=run_a.info.run_id,
                                        registered_model_name="churn", client=a)
    info_b = lockgate.sklearn.log_model(model_b, name="model", run_id=run_b.info.run_id,
                                        registered_model_name="churn", client=b)
    assert (info_a.registered_model_version, info_b.registered_model_version) == (1, 1)
    assert (dir_a / exp_a / run_a.info.run_id / "artifacts" / "model" / "MLmodel").is_file()
    assert (dir_b / exp_b / run_b.info.run_id / "artifacts" / "model" / "MLmodel").is_file()
    a.set_registered_model_alias("churn", "champion", 1)
    b.set_registered_model_alias("churn", "champion", 1)
    probe = np.array([[10.0]])
    for uri in ("models:/churn/1", "models:/churn@champion"):
        assert lockgate.pyfunc.load_model(uri, client=b).predict(probe).tolist() == pytest.approx([-30.0])
        assert lockgate.pyfunc.load_model(uri, client=a).predict(probe).tolist() == pytest.approx([21.0])
    assert lockgate.sklearn.load_model("models:/churn/1", client=b).coef_.tolist() == pytest.approx([-3.0])
    from lockgate.serving.batch import predict_batch

    (tmp_path / "in.csv").write_text("x\n10\n-1\n")
    scored = predict_batch("models:/churn@champion", tmp_path / "in.csv", tmp_path / "out.csv",
                           client=b, progress=False)
    assert scored.rows == 2
    assert (tmp_path / "out.csv").read_text().splitlines()[1:] == ["10,-30.0", "-1,3.0"]
    # The fluent default (here the local SQLite store) knows neither server's model.
    with pytest.raises(NotFound):
        lockgate.pyfunc.load_model("models:/churn/1")
