"""Database engines, one per URL per process, with the database brought up to date.

SQLite gets WAL journaling, a 30 s busy timeout, foreign keys, and write transactions that
start with ``BEGIN IMMEDIATE`` so two processes writing one file queue up instead of failing
with "database is locked". Migrations run on first use under a lock (a file lock for SQLite,
an advisory lock for PostgreSQL), so many processes can start against a fresh database at once.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from lockgate.errors import InvalidArgument, ServiceUnavailable

__all__ = [
    "commit_with_pipeline",
    "dispose_engines",
    "drop_if_disconnected",
    "get_engine",
    "guard_in_pipeline",
    "is_disconnect",
    "is_sqlite",
    "pipelined",
    "query_later",
    "read_connection",
    "write_connection",
]

_engines: dict[str, Engine] = {}
_lock = threading.Lock()

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A fixed key for PostgreSQL's advisory lock that serializes migrations.
_PG_MIGRATION_LOCK = 0x10C6A7E
# SQLSTATE classes of a connection that is gone: 08 connection exception, 57P operator intervention.
_DISCONNECT_SQLSTATE_CLASSES = ("08", "57P")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _normalize(uri: str) -> str:
    if uri.startswith(("postgresql://", "postgres://")):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        return "postgresql+psycopg://" + uri.split("://", 1)[1]
    if uri.startswith("mysql://"):
        return "mysql+pymysql://" + uri.split("://", 1)[1]
    return uri


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module: we emit BEGIN ourselves.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("lockgate_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _create(uri: str) -> Engine:
    try:
        url = make_url(uri)
    except Exception as exc:  # noqa: BLE001 - sqlalchemy raises ArgumentError with a terse text
        raise InvalidArgument(f"Invalid tracking URI {uri!r}: {exc}") from None
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        _configure_sqlite(engine)
    else:
        try:
            connect_args: dict[str, Any] = {}
            if url.get_backend_name() == "postgresql" and "options" not in url.query:
                # JIT compilation adds 100-200 ms to every statement the planner costs as large
                # (a chart over a million points) and never pays back on short queries.
                connect_args["options"] = "-c jit=off"
            from lockgate.settings import env_float

            # Per process: a server holds workers x (size + overflow) connections at most, which
            # must stay under the database's max_connections (docs/performance.md, sizing).
            pool_size = int(env_float("LOCKGATE_DB_POOL_SIZE", 10, minimum=1))
            overflow = int(env_float("LOCKGATE_DB_MAX_OVERFLOW", 20, minimum=0))
            # No pre-ping: it is a round trip before every transaction. A connection the
            # database dropped (a restart) fails its request once with a retryable 503, and
            # SQLAlchemy then discards every pooled connection older than the failure.
            engine = create_engine(url, pool_size=pool_size, max_overflow=overflow, connect_args=connect_args)
        except ModuleNotFoundError as exc:
            raise InvalidArgument(
                f"The driver for {url.get_backend_name()} is not installed ({exc.name}); "
                "install it with `pip install 'lockgate[postgres]'` or `lockgate[mysql]`."
            ) from None
    return engine


def get_engine(uri: str, *, upgrade: bool = True) -> Engine:
    """The engine for ``uri``, created once per process, with migrations applied."""
    uri = _normalize(uri)
    with _lock:
        engine = _engines.get(uri)
        if engine is None:
            engine = _create(uri)
            if upgrade:
                try:
                    upgrade_database(engine)
                except ServiceUnavailable:
                    engine.dispose()
                    raise
            _engines[uri] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, forks, and dropping a database)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a write transaction, committed on success."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn.execution_options(lockgate_begin="IMMEDIATE")
        with conn.begin():
            yield conn


def _pipelines(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """PostgreSQL (psycopg): send the statements issued inside as one round trip (psycopg's
    pipeline mode) instead of one each; a failure of any of them surfaces when the block ends,
    as SQLAlchemy's exception. Elsewhere a plain block.

    Inside the block ``conn.execute`` may only write; a SELECT goes through ``query_later``.
    """
    if not _pipelines(conn):
        yield
        return
    from sqlalchemy.exc import DBAPIError

    dbapi = conn.dialect.loaded_dbapi
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.pipeline():
            yield
    except dbapi.Error as exc:  # raised by the sync, outside SQLAlchemy's own handling
        invalidated = drop_if_disconnected(conn, exc)
        raise DBAPIError.instance(
            None, None, exc, dbapi.Error, connection_invalidated=invalidated, dialect=conn.dialect
        ) from exc


def is_disconnect(exc: BaseException, *, conn: Connection | None = None) -> bool:
    """True when ``exc`` (SQLAlchemy's or the driver's) means the database connection is gone:
    a restart, a failover, a terminated backend. Given the ``conn`` that raised a driver error,
    the dialect's own test of that connection counts too."""
    if getattr(exc, "connection_invalidated", False):
        return True
    orig: Any = getattr(exc, "orig", None) or exc
    if str(getattr(orig, "sqlstate", "") or "").startswith(_DISCONNECT_SQLSTATE_CLASSES):
        return True
    return conn is not None and bool(conn.dialect.is_disconnect(orig, conn.connection.dbapi_connection, None))


def drop_if_disconnected(conn: Connection, exc: BaseException) -> bool:
    """If ``exc`` says ``conn`` lost its database, invalidate it and renew the engine's pool; True then."""
    if not is_disconnect(exc, conn=conn):
        return False
    conn.invalidate(exc)
    # As SQLAlchemy does on a disconnect it sees itself: the pool's other connections died
    # with this one (a restart, a terminated backend), so none is handed out again.
    conn.engine.dispose(close=False)
    return True


def query_later(conn: Connection, statement: Any, params: dict[str, Any], *, pg_sql: str,
                pg_params: tuple[Any, ...]) -> Any:
    """Run a SELECT whose rows are read (``.fetchall()``) after a ``pipelined`` block.

    With psycopg it is the raw ``pg_sql`` on its own DB-API cursor (SQLAlchemy would look for
    the rows before the pipeline has them); elsewhere the SQLAlchemy ``statement``, run now.
    """
    if not _pipelines(conn):
        return conn.execute(statement, params)
    cursor = conn.connection.cursor()
    cursor.execute(pg_sql, pg_params)
    return cursor


def guard_in_pipeline(conn: Connection, pg_sql: str, pg_params: tuple[Any, ...]) -> bool:
    """Inside a ``pipelined`` block on PostgreSQL (psycopg): queue ``pg_sql``, a SELECT that
    raises an error when a write must be refused, so that the transaction aborts before a
    ``commit_with_pipeline`` commit. False (nothing queued) elsewhere."""
    if not _pipelines(conn):
        return False
    conn.connection.cursor().execute(pg_sql, pg_params)
    return True


def commit_with_pipeline(conn: Connection) -> bool:
    """Inside a ``pipelined`` block on PostgreSQL (psycopg): queue the transaction's COMMIT
    behind its statements, so the block's one round trip also commits (one fewer per write
    request). Any failed statement before it makes PostgreSQL skip it, and the block raises:
    nothing is committed. The caller's own commit then has nothing left to do. False (nothing
    queued) elsewhere."""
    if not _pipelines(conn):
        return False
    conn.connection.cursor().execute("COMMIT")
    return True


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reading; one consistent snapshot for its lifetime."""
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if is_sqlite(engine):
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        lock_path = Path(database).expanduser().with_suffix(".migrate.lock")
        with open(lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()
    else:
        yield


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations up to ``revision`` unless the database is already there."""
    from lockgate.store.sql import migrate

    try:
        with _migration_lock(engine):
            migrate.upgrade(engine, revision)
    except Exception as exc:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            raise ServiceUnavailable(
                f"Cannot reach the tracking database {engine.url.render_as_string(hide_password=True)}: "
                f"{exc.orig}"
            ) from None
        raise
