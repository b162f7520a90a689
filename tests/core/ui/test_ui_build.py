"""The committed UI bundle is exactly what `npm ci && npm run build` makes from the source."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
UI = ROOT / "core" / "lockgate" / "ui"


def test_committed_static_files_match_a_fresh_build(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to check the UI build (Node 20+); install nodejs and npm.")
    work = tmp_path / "frontend"
    shutil.copytree(UI / "frontend", work, ignore=shutil.ignore_patterns("node_modules"))
    out = tmp_path / "static"
    env = {**os.environ, "LOCKGATE_UI_OUT": str(out), "npm_config_fund": "false", "npm_config_audit": "false"}
    for command in ([npm, "ci", "--no-progress"], [npm, "run", "build"]):
        done = subprocess.run(command, check=False, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
    built = sorted(p.name for p in out.iterdir())
    committed = sorted(p.name for p in (UI / "static").iterdir())
    assert built == committed
    stale = [name for name in built if (out / name).read_bytes() != (UI / "static" / name).read_bytes()]
    assert stale == [], (f"core/lockgate/ui/static is out of date for {stale}: run "
                         "`cd core/lockgate/ui/frontend && npm ci && npm run build` and commit the result")
