#!/usr/bin/env python3
"""Run Lockgate's demo or its test suite on a machine that has nothing but python3.

    python3 dev.py demo              # track a real training run and print the results
    python3 dev.py test [NOX ARGS]   # every test session (core + one per orchestrator)
    python3 dev.py nox [NOX ARGS]    # any nox session, e.g. `-s lock` or `-s tests-core`

The first call creates ``.venv-dev/`` next to this file holding pinned ``nox`` and ``uv``;
nox then builds one uv-managed environment per session under ``.nox/``. Only the standard
library is used here, so this works before anything else is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent
TOOLS_DIR = ROOT / ".venv-dev"
# Bump these together with DEVELOPERS.md; the stamp file makes an old .venv-dev upgrade itself.
TOOLS = ("nox==2026.10.20", "uv==0.13.9")
STAMP = TOOLS_DIR / "lockgate-tools.txt"
TEST_SESSIONS = ("tests-core", "tests-airflow", "tests-prefect", "tests-dagster")

USAGE = """usage: python3 dev.py {{demo,test,nox}} [NOX ARGS]

  demo   run examples/demo.py in its own environment (nox session "demo")
  test   run the test sessions: {}
         extra arguments go to nox, e.g. `python3 dev.py test -s tests-core -- -k search`
  nox    run nox with the given arguments, e.g. `python3 dev.py nox -s lock`
""".format(", ".join(TEST_SESSIONS))


def _say(message: str) -> None:
    print(f"dev.py: {message}", flush=True)


def _tool_python() -> Path:
    return TOOLS_DIR / "bin" / "python"


def ensure_tools() -> Path:
    """Create or refresh ``.venv-dev`` with the pinned nox and uv; return its interpreter."""
    wanted = "\n".join(TOOLS) + "\n"
    python = _tool_python()
    if python.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return python
    if not python.exists():
        _say(f"creating {TOOLS_DIR.relative_to(ROOT)}/ with {', '.join(TOOLS)}")
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS_DIR)
    else:
        _say(f"updating {TOOLS_DIR.relative_to(ROOT)}/ to {', '.join(TOOLS)}")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *TOOLS],
        check=True,
    )
    STAMP.write_text(wanted)
    return python


def _nox(python: Path, args: list[str]) -> int:
    env = dict(os.environ)
    # uv must use the interpreter nox runs on, never fetch a Python build of its own.
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    # The tool venv's bin first, so nox and its sessions find the pinned uv.
    env["PATH"] = f"{TOOLS_DIR / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    command = [str(python), "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), *args]
    _say("running " + " ".join(command[2:]))
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def main(argv: list[str]) -> int:
    """Dispatch ``demo``, ``test`` or ``nox``; return the exit code of what ran."""
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(USAGE, end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in {"demo", "test", "nox"}:
        print(f"dev.py: unknown command {command!r}\n\n{USAGE}", end="", file=sys.stderr)
        return 2
    python = ensure_tools()
    if command == "demo":
        return _nox(python, ["-s", "demo", *rest])
    if command == "test":
        nox_part = rest[: rest.index("--")] if "--" in rest else rest
        picks_sessions = any(a in {"-s", "--session", "--sessions", "-e", "-k"} for a in nox_part)
        sessions = [] if picks_sessions else ["-s", *TEST_SESSIONS]
        return _nox(python, [*sessions, *rest])
    return _nox(python, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
