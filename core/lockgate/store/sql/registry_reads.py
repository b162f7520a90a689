"""Several independent SELECTs of the SQL registry store in one round trip.

On PostgreSQL (psycopg) the statements go out in one pipeline and their rows come back
together; elsewhere (SQLite, in process) they simply run one after the other. A move reads
the candidate, its holders, its policies and its run this way, so a promotion costs one
round trip of reads instead of ten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from lockgate.store.sql.engine import pipelined

__all__ = ["Row", "read_together"]


class Row:
    """One row of a pipelined read, its columns as attributes (like SQLAlchemy's ``Row``)."""

    __slots__ = ("__dict__",)

    def __init__(self, names: Sequence[str], values: Sequence[Any]) -> None:
        self.__dict__.update(zip(names, values, strict=True))

    def __repr__(self) -> str:
        return f"Row({self.__dict__!r})"


_compiled: dict[tuple[int, str], tuple[Any, str]] = {}


def _pg_sql(conn: Connection, statement: Any) -> tuple[Any, str]:
    """The statement compiled once per dialect: (compiled, SQL text with %(name)s markers)."""
    key = (id(statement), conn.dialect.name)
    found = _compiled.get(key)
    if found is None or found[0].statement is not statement:
        compiled = statement.compile(dialect=conn.dialect)
        found = _compiled[key] = (compiled, str(compiled))
    return found


def read_together(conn: Connection, reads: Sequence[tuple[Any, Mapping[str, Any]]]) -> list[list[Any]]:
    """The rows of each ``(select, params)`` in ``reads``, in order, read in one round trip on
    PostgreSQL. Statements should be built once (cached), since they are compiled once each."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return [list(conn.execute(stmt, dict(params)).all()) for stmt, params in reads]
    cursors = []
    with pipelined(conn):
        for stmt, params in reads:
            compiled, sql = _pg_sql(conn, stmt)
            cursor = conn.connection.cursor()
            cursor.execute(sql, compiled.construct_params(dict(params)))
            cursors.append(cursor)
    results = []
    for cursor in cursors:
        rows = cursor.fetchall()
        names = [d[0] for d in cursor.description]
        results.append([Row(names, r) for r in rows])
        cursor.close()
    return results
