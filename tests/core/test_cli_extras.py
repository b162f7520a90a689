"""A bare ``pip install lockgate``: commands whose extra is missing say which one to install.

Each case runs the real ``lockgate`` command in a subprocess whose ``sitecustomize`` hides the
extra's modules (a meta-path finder that raises ``ModuleNotFoundError`` for them), as if they
had never been installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_BLOCKER = '''
import os, sys

_HIDDEN = set(os.environ["LOCKGATE_TEST_HIDE_MODULES"].split(","))


class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Hide())
'''
SERVER = "fastapi,uvicorn,bcrypt,orjson,starlette"
EVERY_EXTRA = f"{SERVER},pandas,numpy,pyarrow,cloudpickle,sklearn,psycopg,pymysql,s3fs,torch"


def lockgate(tmp_path: Path, hide: str, *args: str) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_BLOCKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "LOCKGATE_TEST_HIDE_MODULES": hide, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "lockgate.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


def test_the_blocker_really_hides_modules(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import fastapi\n")
    site = tmp_path / "site"
    lockgate(tmp_path, SERVER, "--help")  # writes the sitecustomize
    env = {**os.environ, "PYTHONPATH": str(site), "LOCKGATE_TEST_HIDE_MODULES": SERVER}
    result = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, env=env, timeout=120,
                            check=False)
    assert result.returncode == 1 and "No module named 'fastapi'" in result.stderr


def test_server_without_the_server_extra(tmp_path: Path) -> None:
    result = lockgate(tmp_path, SERVER, "server", "--backend-store-uri", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip() == "lockgate server needs the server extra: pip install 'lockgate[server]'"
    assert "Traceback" not in result.stdout + result.stderr


def test_help_and_core_commands_need_no_extra(tmp_path: Path) -> None:
    result = lockgate(tmp_path, EVERY_EXTRA, "--help")
    assert result.returncode == 0, result.stderr
    for noun in ("runs", "experiments", "models", "server", "users", "db", "gc"):
        assert f" {noun} " in result.stdout, noun
    result = lockgate(tmp_path, EVERY_EXTRA, "experiments", "list", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert '"name": "Default"' in result.stdout


@pytest.mark.parametrize(
    ("hide", "args", "message"),
    [
        ("pandas", ["models", "predict", "-m", "models:/m/1", "-i", "in.csv", "-o", "out.csv"],
         "lockgate models predict needs the models extra: pip install 'lockgate[models]'"),
        (SERVER, ["models", "serve", "-m", "models:/m/1"],
         "lockgate models serve needs the server extra: pip install 'lockgate[server]'"),
        ("bcrypt", ["users", "create", "ana", "--password", "long-enough-1"],
         "lockgate users create needs the server extra: pip install 'lockgate[server]'"),
        # Not declared by the command: the store finds the PostgreSQL driver missing on first use.
        ("psycopg", ["runs", "search", "-e", "x", "--tracking-uri", "postgresql+psycopg://u@127.0.0.1:1/db"],
         ("Error (INVALID_PARAMETER_VALUE): The driver for postgresql is not installed (psycopg); install it "
          "with `pip install 'lockgate[postgres]'` or `lockgate[mysql]`.")),
    ],
)
def test_commands_name_their_missing_extra(tmp_path: Path, hide: str, args: list[str], message: str) -> None:
    result = lockgate(tmp_path, hide, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stdout + result.stderr


def test_a_module_missing_mid_command_names_its_extra() -> None:
    import typer
    from lockgate.cli.common import handle_errors
    from typer.testing import CliRunner

    app = typer.Typer()

    @app.command("ui")
    @handle_errors
    def ui() -> None:
        raise ModuleNotFoundError("No module named 'uvicorn'", name="uvicorn")

    @app.command("other")
    @handle_errors
    def other() -> None:
        raise ModuleNotFoundError("No module named 'left_pad'", name="left_pad")

    result = CliRunner().invoke(app, ["ui"], prog_name="lockgate")
    assert result.exit_code == 1
    assert result.stderr.strip() == "lockgate ui needs the server extra: pip install 'lockgate[server]'"
    result = CliRunner().invoke(app, ["other"], prog_name="lockgate")
    assert result.exit_code == 1
    assert result.stderr.strip() == "lockgate other needs the Python module 'left_pad', which is not installed."
