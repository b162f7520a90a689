"""The registry contract suite, run again through a live server: RestRegistry over /api/v1
must behave like the in-process SqlRegistry (results, gate verdicts, errors)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

_DIR = Path(__file__).parents[1] / "registry"
sys.path.insert(0, str(_DIR))  # the suite imports its helpers (registry_support) by name


def _load(name: str, file: str) -> object:
    spec = importlib.util.spec_from_file_location(name, _DIR / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_fixtures = _load("lockgate_registry_suite_conftest", "conftest.py")
_suite = _load("lockgate_registry_contract_suite", "test_registry_contract.py")
globals().update({n: o for n, o in vars(_suite).items() if n.startswith("test_")})
globals().update({n: getattr(_fixtures, n) for n in ("client", "registry", "make_run")})


@pytest.fixture
def store_uri(start_server: Callable[..., str], sqlite_uri: str) -> str:
    """The URL of a live server on a fresh SQLite database."""
    return start_server(backend_store_uri=sqlite_uri)
