"""``lockgate server`` started with ``mlflow server``'s flags: the meaningful ones work, the others
stop the command with a message naming the flag."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from lockgate.cli import app
from lockgate.cli.mlflow_flags import UNSUPPORTED_MLFLOW_FLAGS
from typer.testing import CliRunner

runner = CliRunner(env={"COLUMNS": "250"})


COMPAT_DOC = Path(__file__).resolve().parents[3] / "docs" / "mlflow-compat.md"


def _doc_command() -> list[str]:
    """The `mlflow server`-style command shown in docs/mlflow-compat.md, split into arguments."""
    import shlex

    lines = [line for line in COMPAT_DOC.read_text().splitlines() if line.startswith("lockgate server ")]
    assert len(lines) == 1, lines
    return shlex.split(lines[0])[2:]


def test_mlflow_flags_map_onto_the_server(start_process_server: Callable[..., str], tmp_path: Path) -> None:
    """The documented command line (short flags, --default-artifact-root), with this test's paths."""
    root = tmp_path / "artifact-root"
    args = _doc_command()
    swap = {"sqlite:///mlflow.db": f"sqlite:///{tmp_path / 'mlflow-flags.db'}", "./mlruns": str(root)}
    args = [swap.get(a, a) for a in args]
    port_at = args.index("-p")
    del args[port_at:port_at + 2]  # the fixture picks a free port
    url = start_process_server(*args, "--dev")
    created = httpx.post(f"{url}/api/2.0/mlflow/experiments/create", json={"name": "flags"})
    exp_id = created.json()["experiment_id"]
    got = httpx.get(f"{url}/api/2.0/mlflow/experiments/get", params={"experiment_id": exp_id}).json()
    assert got["experiment"]["artifact_location"] == f"file://{root}/{exp_id}"
    info = httpx.get(f"{url}/api/3.0/mlflow/server-info").json()
    assert info["multipart_uploads_enabled"] is False


@pytest.mark.parametrize("flag", sorted(UNSUPPORTED_MLFLOW_FLAGS))
def test_flags_without_meaning_name_themselves(flag: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["server", "--backend-store-uri", f"sqlite:///{tmp_path / 'x.db'}", flag, "v"])
    assert result.exit_code == 2
    assert f"{flag} is an `mlflow server` flag that lockgate server does not support" in result.output
    assert UNSUPPORTED_MLFLOW_FLAGS[flag].split(";")[0][:40] in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--bogus"], "No such option: --bogus"),
        (["--default-artifact-root", "s3://bucket/x"], "Pass the storage as --artifacts-destination"),
        (["--no-serve-artifacts", "--default-artifact-root", "/a", "--artifacts-destination", "/b"],
         "not two different places"),
        (["--app-name", "oidc"], "the only app is 'basic-auth'"),
        (["--app-name", "basic-auth", "--no-auth"], "drop --no-auth"),
    ],
)
def test_contradictory_or_unknown_flags_are_refused(args: list[str], expected: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["server", "--backend-store-uri", f"sqlite:///{tmp_path / 'x.db'}", *args])
    assert result.exit_code == 2
    assert expected in " ".join(result.output.split())
