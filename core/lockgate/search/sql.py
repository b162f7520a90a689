"""Filter comparisons as SQLAlchemy expressions that mean the same on SQLite and PostgreSQL.

Everything here is bound parameters; user text never becomes SQL. Three things differ between
databases and are settled when the statement is compiled for one:

* LIKE is case-sensitive and ILIKE is not, everywhere. SQLite's own LIKE ignores ASCII case,
  so a case-sensitive match there becomes GLOB with the pattern translated (GLOB can still use
  an index for a fixed prefix); ILIKE there is SQLite's LIKE, whose case folding is ASCII-only.
* Text sorts by code point (PostgreSQL gets ``COLLATE "C"``), so the order does not depend on
  the server's locale.
* Reading one key of a JSON text column (dataset input tags).

In patterns ``%`` is any run of characters, ``_`` one character, and a backslash makes the
next character literal (a trailing backslash is itself literal).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Boolean, String, exists, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator

from lockgate.errors import InvalidArgument
from lockgate.search.grammar import Comparison, Value

__all__ = [
    "compile_comparison",
    "json_text",
    "keyed_clause",
    "like_to_glob",
    "like_to_regex",
    "like_to_sql",
    "pattern_match",
    "sort_key",
]

_ANY, _ONE = object(), object()


def _pattern_pieces(pattern: str) -> list[object]:
    """The pattern as a list of _ANY, _ONE and literal one-character strings."""
    pieces: list[object] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            pieces.append(pattern[i + 1])
            i += 2
            continue
        pieces.append(_ANY if char == "%" else _ONE if char == "_" else char)
        i += 1
    return pieces


def _translate(pattern: str, *, many: str, one: str, quote: Callable[[str], str]) -> str:
    """The pattern in another syntax: ``many`` for ``%``, ``one`` for ``_``, ``quote(char)``
    for every other character."""
    out = []
    for piece in _pattern_pieces(pattern):
        if piece is _ANY:
            out.append(many)
        elif piece is _ONE:
            out.append(one)
        else:
            assert isinstance(piece, str)
            out.append(quote(piece))
    return "".join(out)


def like_to_sql(pattern: str) -> str:
    """The pattern for ``LIKE ... ESCAPE '\\'``: only the three special characters are escaped."""
    return _translate(pattern, many="%", one="_", quote=lambda c: "\\" + c if c in "%_\\" else c)


def like_to_glob(pattern: str) -> str:
    """The same pattern in SQLite GLOB syntax (case-sensitive; ``[x]`` quotes a special character)."""
    return _translate(pattern, many="*", one="?", quote=lambda c: f"[{c}]" if c in "*?[" else c)


def like_to_regex(pattern: str) -> str:
    """The same pattern as an anchored Python regular expression (for ``re.fullmatch``)."""
    import re

    return "(?s:" + _translate(pattern, many=".*", one=".", quote=re.escape) + ")"


class _PatternType(TypeDecorator[str]):
    """Binds a user's pattern translated for the database the statement runs on."""

    impl = String
    cache_ok = True

    def __init__(self, case_sensitive: bool) -> None:
        super().__init__()
        self.case_sensitive = case_sensitive

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite" and self.case_sensitive:
            return like_to_glob(value)
        return like_to_sql(value)


class _PatternMatch(ColumnElement[bool]):
    __visit_name__ = "lockgate_pattern_match"
    inherit_cache = True
    type = Boolean()
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy reads this class attribute
        ("column", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
        ("case_sensitive", InternalTraversal.dp_boolean),
    ]

    def __init__(self, column: ColumnElement[Any], pattern: str, *, case_sensitive: bool) -> None:
        self.column = column
        self.pattern: BindParameter[str] = BindParameter(
            None, pattern, type_=_PatternType(case_sensitive), unique=True
        )
        self.case_sensitive = case_sensitive


def _parts(element: _PatternMatch, compiler: Any, **kw: Any) -> tuple[str, str]:
    return compiler.process(element.column, **kw), compiler.process(element.pattern, **kw)


@compiles(_PatternMatch)
def _pattern_default(element: _PatternMatch, compiler: Any, **kw: Any) -> str:
    column, pattern = _parts(element, compiler, **kw)
    if element.case_sensitive:
        return f"({column} LIKE {pattern} ESCAPE '\\')"
    return f"(lower({column}) LIKE lower({pattern}) ESCAPE '\\')"


@compiles(_PatternMatch, "sqlite")
def _pattern_sqlite(element: _PatternMatch, compiler: Any, **kw: Any) -> str:
    column, pattern = _parts(element, compiler, **kw)
    if element.case_sensitive:
        return f"({column} GLOB {pattern})"
    return f"({column} LIKE {pattern} ESCAPE '\\')"


@compiles(_PatternMatch, "postgresql")
def _pattern_postgresql(element: _PatternMatch, compiler: Any, **kw: Any) -> str:
    column, pattern = _parts(element, compiler, **kw)
    return f"({column} {'LIKE' if element.case_sensitive else 'ILIKE'} {pattern} ESCAPE '\\')"


@compiles(_PatternMatch, "mysql")
@compiles(_PatternMatch, "mariadb")
def _pattern_mysql(element: _PatternMatch, compiler: Any, **kw: Any) -> str:
    # Backslash is MySQL's default LIKE escape; a binary collation makes the match exact.
    column, pattern = _parts(element, compiler, **kw)
    if element.case_sensitive:
        return f"({column} COLLATE utf8mb4_bin LIKE {pattern})"
    return f"(lower({column}) LIKE lower({pattern}))"


def pattern_match(column: ColumnElement[Any], pattern: str, *, case_sensitive: bool) -> ColumnElement[bool]:
    """``column LIKE pattern`` (case_sensitive) or ``ILIKE``, with the same meaning on every database."""
    return _PatternMatch(column, pattern, case_sensitive=case_sensitive)


class _SortKey(ColumnElement[Any]):
    __visit_name__ = "lockgate_sort_key"
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(_SortKey)
def _sort_key_default(element: _SortKey, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(_SortKey, "postgresql")
def _sort_key_postgresql(element: _SortKey, compiler: Any, **kw: Any) -> str:
    return f'({compiler.process(element.column, **kw)} COLLATE "C")'


@compiles(_SortKey, "mysql")
@compiles(_SortKey, "mariadb")
def _sort_key_mysql(element: _SortKey, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.column, **kw)} COLLATE utf8mb4_bin)"


def sort_key(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``column`` for ORDER BY so text sorts by code point on every database (numbers pass through)."""
    if isinstance(column.type, String):
        return _SortKey(column)
    return column


class _JsonText(ColumnElement[str]):
    __visit_name__ = "lockgate_json_text"
    inherit_cache = True
    type = String()
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy reads this class attribute
        ("column", InternalTraversal.dp_clauseelement),
        ("json_key", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement[Any], key: str) -> None:
        self.column = column
        self.json_key = key


def _json_path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


@compiles(_JsonText)
def _json_text_default(element: _JsonText, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"json_extract({column}, {compiler.process(literal(_json_path(element.json_key)), **kw)})"


@compiles(_JsonText, "postgresql")
def _json_text_postgresql(element: _JsonText, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"(CAST({column} AS JSON) ->> {compiler.process(literal(element.json_key), **kw)})"


@compiles(_JsonText, "mysql")
@compiles(_JsonText, "mariadb")
def _json_text_mysql(element: _JsonText, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    path = compiler.process(literal(_json_path(element.json_key)), **kw)
    return f"json_unquote(json_extract({column}, {path}))"


def json_text(column: ColumnElement[Any], key: str) -> ColumnElement[str]:
    """The text stored under ``key`` in a column holding a JSON object (NULL when absent)."""
    return _JsonText(column, key)


def compile_comparison(column: ColumnElement[Any], op: str, value: Value) -> ColumnElement[bool]:
    """``column <op> value`` as a boolean SQL expression, for any column and any parsed operator.

    NULL never matches a comparison (as MLflow: a missing value matches nothing but IS NULL).
    """
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op in ("<", "<=", ">", ">="):
        ordered = sort_key(column)  # text compares by code point, as it sorts
        if op == "<":
            return ordered < value
        if op == "<=":
            return ordered <= value
        if op == ">":
            return ordered > value
        return ordered >= value
    if op in ("LIKE", "ILIKE"):
        if not isinstance(value, str):
            raise InvalidArgument(f"{op} needs a string pattern, got {value!r}.")
        return pattern_match(column, value, case_sensitive=op == "LIKE")
    if op in ("IN", "NOT IN"):
        if not isinstance(value, tuple) or not value:
            raise InvalidArgument(f"{op} needs a non-empty list of values, got {value!r}.")
        return column.in_(list(value)) if op == "IN" else column.not_in(list(value))
    if op == "IS NULL":
        return column.is_(None)
    if op == "IS NOT NULL":
        return column.is_not(None)
    raise InvalidArgument(f"Unknown search operator {op!r}.")


def keyed_clause(
    comparison: Comparison,
    *,
    owner: ColumnElement[bool],
    key_column: ColumnElement[str],
    value_column: ColumnElement[Any],
) -> ColumnElement[bool]:
    """A clause on a key/value child table (tags, params): ``EXISTS`` a row with that key and a
    matching value, or for IS NULL that no row with the key exists.

    ``owner`` ties the child row to the outer row, e.g. ``tags.c.run_uuid == runs.c.run_uuid``.
    """
    row = select(literal(1)).where(owner, key_column == comparison.key)
    if comparison.op == "IS NULL":
        return ~exists(row)
    if comparison.op == "IS NOT NULL":
        return exists(row)
    return exists(row.where(compile_comparison(value_column, comparison.op, comparison.value)))
