"""The connection pool per process follows LOCKGATE_DB_POOL_SIZE / LOCKGATE_DB_MAX_OVERFLOW."""

from __future__ import annotations

import pytest
from lockgate.errors import InvalidArgument
from lockgate.store.sql.engine import dispose_engines, get_engine
from sqlalchemy import text


def test_pool_size_comes_from_the_environment(postgres_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKGATE_DB_POOL_SIZE", "3")
    monkeypatch.setenv("LOCKGATE_DB_MAX_OVERFLOW", "0")
    dispose_engines()
    engine = get_engine(postgres_uri)
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 0)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar() == "off"
    dispose_engines()


def test_bad_pool_size_names_the_variable(postgres_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKGATE_DB_POOL_SIZE", "lots")
    dispose_engines()
    with pytest.raises(InvalidArgument, match="LOCKGATE_DB_POOL_SIZE='lots' is not a number"):
        get_engine(postgres_uri)
