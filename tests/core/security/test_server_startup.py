"""Start-up work of ``lockgate server``: bytecode cached outside the source tree when Python
would not cache it, and ``--workers N`` forked from one preloaded supervisor (no per-worker
re-import). Figures are in docs/performance.md (bench/server_start_bench.py), not asserted."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import httpx
from limits_support import ProcessServer, free_port, wait_ready

CHECK = """
import sys
from lockgate.server.startup import enable_bytecode_cache
print(enable_bytecode_cache())
import lockgate.server.openapi
"""


def _installed_bytecode() -> bool:
    spec = importlib.util.find_spec("fastapi")
    assert spec is not None and spec.origin
    return os.path.exists(importlib.util.cache_from_source(spec.origin))


def test_bytecode_is_cached_in_its_own_folder_when_python_would_not(tmp_path: Path) -> None:
    cache = tmp_path / "bytecode"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "LOCKGATE_SERVER_BYTECODE_CACHE": str(cache)}
    env.pop("PYTHONPYCACHEPREFIX", None)
    out = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True)
    if _installed_bytecode():
        # Compiled at install time: nothing to do, nothing written.
        assert out.stdout.strip() == "None"
        assert not cache.exists()
    else:
        assert out.stdout.strip() == str(cache)
        # The module imported after the call was compiled into the cache, mirroring its path.
        compiled = [p.relative_to(cache).as_posix() for p in cache.rglob("openapi.*.pyc")]
        assert [p for p in compiled if p.endswith(".pyc") and "lockgate/server/" in p], compiled
    off = {**env, "LOCKGATE_SERVER_BYTECODE_CACHE": "off"}
    assert subprocess.run([sys.executable, "-c", CHECK], env=off, capture_output=True, text=True,
                          check=True).stdout.strip() == "None"


def test_workers_are_forked_from_a_preloaded_supervisor(tmp_path: Path, sqlite_uri: str) -> None:
    args = ("--backend-store-uri", sqlite_uri, "--artifacts-destination", str(tmp_path / "a"),
            "--workers", "2", "--no-access-log")
    with ProcessServer(*args) as server:
        assert server.proc is not None
        workers = server.worker_pids()
        assert len(workers) == 2
        parent = Path(f"/proc/{server.proc.pid}/cmdline").read_bytes()
        for pid in workers:
            # A spawned worker runs "python -c 'from multiprocessing.spawn import spawn_main ...'";
            # a forked one is a copy of the supervisor, command line included.
            assert Path(f"/proc/{pid}/cmdline").read_bytes() == parent
        created = httpx.post(server.url + "/api/2.0/mlflow/experiments/create", json={"name": "forked"}, timeout=60)
        assert created.status_code == 200, created.text


def test_lockgate_server_compiles_nothing_twice_and_imports_no_webhook_client(tmp_path: Path,
                                                                              sqlite_uri: str) -> None:
    """``lockgate server`` (the whole CLI) sets up its bytecode cache before Typer and the server
    extra load, so none of them is compiled again at the next start; and a server without a
    webhook delivery to make never imports httpx (the dispatcher's client is made on first use)
    nor the websockets package (uvicorn is started without WebSocket support)."""
    cache = tmp_path / "bytecode"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "LOCKGATE_SERVER_BYTECODE_CACHE": str(cache),
           "LOCKGATE_HOME": str(tmp_path)}
    env.pop("PYTHONPYCACHEPREFIX", None)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "lockgate.cli", "server", "--port", str(port),
                             "--backend-store-uri", sqlite_uri, "--artifacts-destination", str(tmp_path / "a"),
                             "--no-access-log"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc=proc, timeout=120)
        listed = httpx.get(f"http://127.0.0.1:{port}/api/2.0/mlflow/webhooks", timeout=60)
        assert listed.status_code == 200, listed.text
        assert listed.json().get("webhooks", []) == []
    finally:
        os.killpg(proc.pid, 9)
        proc.wait(timeout=30)
    compiled = {p.relative_to(cache).as_posix() for p in cache.rglob("*.pyc")}
    if _installed_bytecode():
        assert not compiled
        return
    for module in ("typer/main", "fastapi/routing", "pydantic/main", "lockgate/cli/root", "lockgate/cli/server",
                   "lockgate/server/app", "lockgate/webhooks/dispatcher"):
        assert any(f"/{module}.cpython-" in p for p in compiled), module
    # Nothing the server does not use at start: no webhook client, no WebSocket protocol.
    assert not [p for p in compiled if "/httpx/" in p or "/websockets/" in p]


GC_CHECK = """
import gc, sys
from lockgate.server import startup
startup.hold_gc()
assert not gc.isenabled()
if sys.argv[1] == "forked":
    startup.preload_workers()
    app = startup.preloaded_app()
else:
    app = startup.preloaded_app()
print(gc.isenabled(), gc.get_freeze_count() > 10_000, type(app).__name__)
"""


def test_the_collector_paused_for_the_start_runs_again_once_the_app_is_built(tmp_path: Path,
                                                                              sqlite_uri: str) -> None:
    """``lockgate server`` pauses the garbage collector while it imports and builds the app; the
    serving process (one worker, or a supervisor whose workers are forked) has it back on, with
    the start's objects frozen out of its walks."""
    env = {**os.environ, "LOCKGATE_HOME": str(tmp_path), "LOCKGATE_SERVER_BACKEND_STORE_URI": sqlite_uri,
           "LOCKGATE_SERVER_ARTIFACTS_DESTINATION": str(tmp_path / "a")}
    for mode in ("single", "forked"):
        out = subprocess.run([sys.executable, "-c", GC_CHECK, mode], env=env, capture_output=True, text=True,
                             timeout=300, check=False)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["True", "True", "FastAPI"], (mode, out.stdout, out.stderr)
