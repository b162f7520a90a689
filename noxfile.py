"""Lockgate's test, demo and lock sessions; run them through ``python3 dev.py``.

Every session gets its own uv-built environment under ``.nox/``, pinned by
``constraints/<session>.txt``. Airflow, Prefect and Dagster each get their own environment
because their releases pin incompatible web stacks (Airflow 3.3: fastapi<0.137; Prefect
>=3.7.8: fastapi>=0.139). ``nox -s lock`` regenerates the constraints files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
CONSTRAINTS = ROOT / "constraints"
sys.path.insert(0, str(ROOT / "tests"))
import _services  # stdlib-only helper shared with the test fixtures

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["tests-core", "tests-airflow", "tests-prefect", "tests-dagster"]
nox.options.error_on_external_run = True
# Locally an environment is reused and brought in line with its constraints by uv (quick);
# `-N` (--no-reuse-existing-virtualenvs) or deleting .nox/<session> rebuilds from scratch.
nox.options.reuse_venv = "yes"

# Where the CPU-only torch wheel lives; PyPI's default torch build is several GB of CUDA.
FIND_LINKS = os.environ.get("LOCKGATE_FIND_LINKS", "/opt/wheels")
TORCH_WHEEL = "torch-2.13.0+cpu-*.whl"
PYTHON_VERSION = "3.11"
LOCK_COMMAND = "python3 dev.py nox -s lock"

# session name -> what mypy checks there (each package in the environment that has its host)
TYPE_CHECKED: dict[str, str] = {
    "tests-core": "core/lockgate",
    "tests-airflow": "integrations/airflow/lockgate_airflow",
    "tests-prefect": "integrations/prefect/lockgate_prefect",
    "tests-dagster": "integrations/dagster/lockgate_dagster",
}

# session name -> (pyproject extras, pytest target)
TEST_SESSIONS: dict[str, tuple[str, str]] = {
    "tests-core": ("all", "tests"),
    "tests-airflow": ("all,airflow", "tests/integrations/airflow"),
    "tests-prefect": ("all,prefect", "tests/integrations/prefect"),
    "tests-dagster": ("all,dagster", "tests/integrations/dagster"),
}


def _inputs_digest(session_name: str) -> str:
    """Hash what a constraints file was compiled from: pyproject's deps and the .in files."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: no stale-lock warning, installs are still pinned
        return "unknown"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    parts = [json.dumps([project.get("dependencies"), project.get("optional-dependencies")],
                        sort_keys=True)]
    pending = [CONSTRAINTS / f"{session_name}.in"]
    while pending:
        path = pending.pop()
        text = path.read_text()
        parts.append(f"{path.name}\n{text}")
        for line in text.splitlines():
            if line.strip().startswith("-r "):
                pending.append(path.parent / line.split(None, 1)[1].strip())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _needs_find_links(session_name: str) -> bool:
    return session_name == "tests-core"


def _check_torch_wheel(session: nox.Session) -> None:
    if not list(Path(FIND_LINKS).glob(TORCH_WHEEL)):
        session.error(
            f"tests-core needs the CPU build of torch 2.13.0 ({TORCH_WHEEL}) in {FIND_LINKS}; "
            "none is there. Put that wheel there or set LOCKGATE_FIND_LINKS to its folder. "
            "It is not taken from PyPI, whose build is several GB of CUDA libraries"
        )


def _install_pinned(session: nox.Session, session_name: str, extras: str) -> None:
    lock = CONSTRAINTS / f"{session_name}.txt"
    first_line = lock.read_text().splitlines()[0] if lock.exists() else ""
    digest = _inputs_digest(session_name)
    if digest != "unknown" and first_line != f"# inputs-sha256: {digest}":
        session.warn(
            f"{lock.relative_to(ROOT)} is older than pyproject.toml or "
            f"constraints/{session_name}.in; new requirements install unpinned. "
            f"Regenerate with `{LOCK_COMMAND}`."
        )
    args = ["-e", f".[{extras}]", "-r", f"constraints/{session_name}.in",
            "-c", f"constraints/{session_name}.txt"]
    if _needs_find_links(session_name):
        _check_torch_wheel(session)
        args += ["--find-links", FIND_LINKS]
    session.install(*args)


def _service_homes(session: nox.Session) -> dict[str, str]:
    """Point every host's state folder into this session's tmp dir, never into ~."""
    tmp = Path(session.create_tmp()).resolve()
    homes = {"AIRFLOW_HOME": tmp / "airflow", "PREFECT_HOME": tmp / "prefect",
             "DAGSTER_HOME": tmp / "dagster"}
    for path in homes.values():
        path.mkdir(parents=True, exist_ok=True)
    env = {key: str(path) for key, path in homes.items()}
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    # lockgate server caches compiled modules here instead of ~/.cache (shared by every test).
    env["LOCKGATE_SERVER_BYTECODE_CACHE"] = str(tmp / "bytecode")
    return env


def _check_types_and_lint(session: nox.Session) -> None:
    """mypy over this session's package, and (in tests-core) ruff over the whole repository.

    Part of the test command so that CI fails on a new type or lint error, like on a test.
    """
    if session.posargs and os.environ.get("LOCKGATE_SKIP_LINT") == "1":
        return  # a developer re-running a few tests by hand may opt out; CI never sets this
    if session.name == "tests-core":
        session.run("ruff", "check", ".")
    session.run("mypy", TYPE_CHECKED[session.name])


def _run_pytest(session: nox.Session, target: str, extra: list[str], *, browser: bool = False,
                java: bool = False) -> None:
    _check_types_and_lint(session)
    try:
        _services.ensure_postgres()
        if browser:  # the web UI tests drive Debian's chromium, with an emoji font for names like "🚀"
            _services.ensure_chromium()
            _services.ensure_emoji_font()
        if java:  # the spark scoring engine runs PySpark's local mode on Debian's JVM
            _services.ensure_java()
    except _services.ServiceError as exc:
        session.error(str(exc))
    args = list(session.posargs)
    # Options alone (`-- -k search -x`) keep the session's own target; naming a path replaces it.
    if not any(Path(arg.split("::")[0]).exists() for arg in args if not arg.startswith("-")):
        args.append(target)
    report_dir = os.environ.get("LOCKGATE_REPORT_DIR")
    if report_dir:  # .ci/run adds up the JUnit reports of all sessions
        extra = [*extra, f"--junitxml={Path(report_dir).resolve() / session.name}.xml"]
    # One test hanging for 10 minutes is a bug; fail it with a traceback and carry on.
    timeout = os.environ.get("LOCKGATE_TEST_TIMEOUT", "600")
    session.run("python", "-m", "pytest", f"--timeout={timeout}", "--durations=15", *extra, *args,
                env=_service_homes(session))


@nox.session(name="tests-core")
def tests_core(session: nox.Session) -> None:
    """Core tests (tracking, store, models, registry, server) on SQLite, PostgreSQL and S3."""
    extras, target = TEST_SESSIONS["tests-core"]
    _install_pinned(session, "tests-core", extras)
    _run_pytest(session, target, ["--ignore=tests/integrations"], browser=True, java=True)


def _host_session(host: str):  # type: ignore[no-untyped-def]
    name = f"tests-{host}"

    @nox.session(name=name)
    def run(session: nox.Session) -> None:
        extras, target = TEST_SESSIONS[name]
        _install_pinned(session, name, extras)
        _run_pytest(session, target, [])

    run.__doc__ = f"lockgate_{host} tests against a real {host.capitalize()} install."
    return run


tests_airflow = _host_session("airflow")
tests_prefect = _host_session("prefect")
tests_dagster = _host_session("dagster")


@nox.session
def demo(session: nox.Session) -> None:
    """Run examples/demo.py: a tracked scikit-learn training run and its result table."""
    # The core lock pins every package the demo needs; torch is not asked for here.
    session.install("-e", ".[all]", "-c", str(CONSTRAINTS / "tests-core.txt"))
    if os.environ.get("LOCKGATE_TRACKING_URI", "").startswith("postgresql"):
        _services.ensure_postgres()
    # Without a terminal (CI logs) rich would squeeze the results table into 80 columns.
    env = {} if sys.stdout.isatty() else {"COLUMNS": os.environ.get("COLUMNS", "140")}
    session.run("python", "examples/demo.py", *session.posargs, env=env)


def _uv_binary() -> str:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if not found:
            raise RuntimeError("uv is not installed; run nox through `python3 dev.py`") from None
        return found


@nox.session(venv_backend="none")
def lock(session: nox.Session) -> None:
    """Regenerate constraints/<session>.txt with uv (`-- --upgrade` moves to newest releases)."""
    uv = _uv_binary()
    for name, (extras, _target) in TEST_SESSIONS.items():
        out = CONSTRAINTS / f"{name}.txt"
        command = [
            uv, "pip", "compile", "--quiet", "pyproject.toml",
            *[f"--extra={extra}" for extra in extras.split(",")],
            f"constraints/{name}.in",
            f"--python-version={PYTHON_VERSION}",
            f"--custom-compile-command={LOCK_COMMAND}",
            f"--output-file={out.relative_to(ROOT)}",
            *session.posargs,
        ]
        if _needs_find_links(name):
            _check_torch_wheel(session)
            command.append(f"--find-links={FIND_LINKS}")
        session.run(*command, external=True)
        # Stamp the inputs so test sessions can tell a stale constraints file.
        out.write_text(f"# inputs-sha256: {_inputs_digest(name)}\n" + out.read_text())
        session.log(f"wrote {out.relative_to(ROOT)}")
