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
from limits_support import ProcessServer

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
