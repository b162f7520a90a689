"""Fast start for ``lockgate server``: a bytecode cache, and workers forked after one import.

Two costs made a 2-worker server take 13-17 s to start on a busy 2-core machine:

1. No bytecode: with ``PYTHONDONTWRITEBYTECODE=1`` (common in containers and CI) and an
   install that did not byte-compile (uv does not by default), every process compiles FastAPI,
   SQLAlchemy, pydantic and Lockgate from source on every start, about 60% of the start time.
   ``enable_bytecode_cache`` keeps compiled files under ``~/.cache/lockgate/bytecode``
   (``XDG_CACHE_HOME`` respected) instead; ``LOCKGATE_SERVER_BYTECODE_CACHE`` names another
   folder, or ``off``. The source tree is never written to.
2. uvicorn starts each worker with ``spawn``: a fresh interpreter that imports FastAPI,
   SQLAlchemy, pydantic and every router again before it can answer: paid N times in parallel
   at start and again for each worker uvicorn restarts after a crash. ``preload_workers``
   builds the app once in the supervisor (every import done, the database migrated once
   instead of N workers queueing on the migration lock), drops its database connections, and
   has uvicorn fork the workers from that warm process: a worker starts serving at once.
   Only on Linux, where fork is the platform's own default; elsewhere uvicorn's spawn stays.

Since issue 18 the cyclic garbage collector is also paused for the start (``hold_gc``):
start-up creates ~175,000 objects that live as long as the process (modules, classes,
routes), and the collector walked them again and again while they were made (about 260
collections, 15% of the start's CPU). ``release_gc`` resumes it once the app is built, with
those objects frozen (``gc.freeze``) so later collections skip them.

Figures: docs/performance.md.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from typing import Any

__all__ = [
    "ENV_BYTECODE_CACHE",
    "PRELOADED_FACTORY",
    "enable_bytecode_cache",
    "forks_workers",
    "hold_gc",
    "preload_workers",
    "preloaded_app",
    "release_gc",
]

ENV_BYTECODE_CACHE = "LOCKGATE_SERVER_BYTECODE_CACHE"
PRELOADED_FACTORY = "lockgate.server.startup:preloaded_app"

_preloaded: Any = None
_gc_held = False


def _has_installed_bytecode() -> bool:
    import importlib.util

    try:
        spec = importlib.util.find_spec("fastapi")
    except ImportError:  # a broken or hidden install: the command reports the missing extra
        return False
    if spec is None or not spec.origin:
        return False
    try:
        return os.path.exists(importlib.util.cache_from_source(spec.origin))
    except NotImplementedError:
        return False


def enable_bytecode_cache() -> str | None:
    """Cache compiled modules in a folder of our own when Python would otherwise not cache them.

    Does nothing when bytecode is written as usual or was compiled at install time. Returns
    the cache folder in use, or None. Call it before the heavy imports.
    """
    choice = os.environ.get(ENV_BYTECODE_CACHE, "").strip()
    if choice.lower() in ("off", "0", "no", "false") or not sys.dont_write_bytecode or sys.pycache_prefix:
        return None
    if _has_installed_bytecode():
        return None
    if not choice:
        # Beside pip's and uv's caches, not under LOCKGATE_HOME: one cache for every server
        # started by this user, whatever home each one uses.
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        choice = os.path.join(base, "lockgate", "bytecode")
    try:
        os.makedirs(choice, exist_ok=True)
    except OSError:
        return None
    sys.pycache_prefix = choice
    sys.dont_write_bytecode = False
    # Spawned workers (not Linux) and anything the server starts read the same cache.
    os.environ["PYTHONPYCACHEPREFIX"] = choice
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    return choice


def hold_gc() -> None:
    """Pause the cyclic garbage collector until ``release_gc``: call it first thing in a server
    start. Does nothing when the collector is already off."""
    global _gc_held
    if gc.isenabled():
        gc.disable()
        _gc_held = True


def release_gc() -> None:
    """Resume the collector ``hold_gc`` paused, everything alive now frozen out of its reach.

    Objects made by the start stay for the process's life, its garbage cycles too (about
    1.5 MB of RSS), as with a pre-fork server; what is allocated from now on is collected as
    usual.
    """
    global _gc_held
    if _gc_held:
        _gc_held = False
        gc.freeze()
        gc.enable()


def forks_workers() -> bool:
    """True where workers are forked from a preloaded supervisor (Linux)."""
    return sys.platform.startswith("linux")


def _forget_inherited_engines() -> None:
    # Connections belong to the process that opened them; a child must never reuse its parent's.
    from lockgate.store.sql import engine

    for cached in list(engine._engines.values()):
        cached.dispose(close=False)
    engine._engines.clear()


def preloaded_app() -> Any:
    """uvicorn's factory for ``lockgate server``: the app ``preload_workers`` built before
    forking, or else a new one (``app_from_env``), after which the collector resumes."""
    if _preloaded is not None:
        return _preloaded
    from lockgate.server.app import app_from_env

    app = app_from_env()
    release_gc()
    return app


def preload_workers() -> str | None:
    """Build the app once in this (supervisor) process and make uvicorn fork its workers.

    Call it after the ``LOCKGATE_SERVER_*`` variables are set and before ``uvicorn.run``;
    returns ``PRELOADED_FACTORY`` (None where workers are spawned and build their own app).
    Nothing started here survives into a worker: no threads are created, no event loop exists
    yet, and every pooled database connection is closed before the first fork, so each worker
    opens its own.
    """
    global _preloaded
    if not forks_workers():
        release_gc()  # spawned workers build their own app; this process only supervises them
        return None
    import uvicorn._subprocess as uvicorn_subprocess

    from lockgate.server.app import app_from_env
    from lockgate.store.sql.engine import dispose_engines

    # Every import a worker needs, the migration check and building the routes, done once.
    _preloaded = app_from_env()
    dispose_engines()
    os.register_at_fork(after_in_child=_forget_inherited_engines)
    # Objects alive now are shared copy-on-write by every worker; keep the GC from touching them.
    gc.collect()
    gc.freeze()
    release_gc()
    uvicorn_subprocess.spawn = multiprocessing.get_context("fork")  # type: ignore[assignment]
    return PRELOADED_FACTORY
