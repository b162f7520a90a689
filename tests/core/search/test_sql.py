"""The portable SQL pieces on any table: pattern translation, compile_comparison, keyed_clause, sort_key."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from lockgate.search import (
    compile_comparison,
    keyed_clause,
    parse_registered_model_filter,
    sort_key,
)
from lockgate.search.sql import like_to_glob, like_to_regex, like_to_sql
from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
)


@pytest.mark.parametrize(
    ("pattern", "sql", "glob"),
    [
        ("abc", "abc", "abc"),
        ("a%b_c", "a%b_c", "a*b?c"),
        ("50\\%", "50\\%", "50%"),
        ("a\\_b", "a\\_b", "a_b"),
        ("x*y?[z]", "x*y?[z]", "x[*]y[?][[]z]"),
        ("back\\\\slash", "back\\\\slash", "back\\slash"),
        ("trailing\\", "trailing\\\\", "trailing\\"),
        ("\\a", "a", "a"),
    ],
)
def test_pattern_translation(pattern: str, sql: str, glob: str) -> None:
    assert like_to_sql(pattern) == sql
    assert like_to_glob(pattern) == glob


def test_like_regex() -> None:
    assert re.fullmatch(like_to_regex("a%b_"), "aXXbY")
    assert not re.fullmatch(like_to_regex("a%b_"), "aXXb")
    assert re.fullmatch(like_to_regex("50\\%"), "50%") and not re.fullmatch(like_to_regex("50\\%"), "500")
    assert re.fullmatch(like_to_regex("a.c"), "a.c") and not re.fullmatch(like_to_regex("a.c"), "abc")


_meta = MetaData()
models = Table(
    "demo_models",
    _meta,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("source", String(100)),
)
model_tags = Table(
    "demo_model_tags",
    _meta,
    Column("model_id", Integer, ForeignKey("demo_models.id"), primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("value", String(100), nullable=False),
)
ROWS = [(1, "churn", "s3://a"), (2, "Churn", None), (3, "churn_v2", "s3://b"), (4, "c%rn", "file:/x"), (5, "CHURN*", None)]
TAGS = [(1, "team", "risk"), (2, "team", "Risk"), (3, "stage", "prod")]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    uri = request.getfixturevalue("sqlite_uri" if request.param == "sqlite" else "postgres_uri")
    eng = create_engine(uri)
    _meta.create_all(eng)
    with eng.begin() as conn:
        conn.execute(insert(models), [{"id": i, "name": n, "source": s} for i, n, s in ROWS])
        conn.execute(insert(model_tags), [{"model_id": m, "key": k, "value": v} for m, k, v in TAGS])
    yield eng
    eng.dispose()


def _ids(engine: Engine, *clauses: object) -> list[int]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(models.c.id).where(*clauses)).scalars())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("=", "churn", [1]),
        ("!=", "churn", [2, 3, 4, 5]),
        ("LIKE", "churn%", [1, 3]),
        ("LIKE", "c_urn", [1]),
        ("LIKE", "c\\%rn", [4]),
        ("LIKE", "CHURN*", [5]),  # * is no wildcard, even where LIKE becomes GLOB
        ("LIKE", "%\\_%", [3]),
        ("ILIKE", "churn", [1, 2]),
        ("ILIKE", "CHURN%", [1, 2, 3, 5]),
        ("IN", ("churn", "Churn", "x"), [1, 2]),
        ("NOT IN", ("churn", "Churn"), [3, 4, 5]),
        ("<", "churn", [2, 4, 5]),  # code-point order: upper case and "%" sort first
    ],
)
def test_compile_comparison_on_any_column(engine: Engine, op: str, value: object, expected: list[int]) -> None:
    assert _ids(engine, compile_comparison(models.c.name, op, value)) == expected  # type: ignore[arg-type]


def test_null_columns(engine: Engine) -> None:
    assert _ids(engine, compile_comparison(models.c.source, "IS NULL", None)) == [2, 5]
    assert _ids(engine, compile_comparison(models.c.source, "IS NOT NULL", None)) == [1, 3, 4]
    assert _ids(engine, compile_comparison(models.c.source, "!=", "s3://a")) == [3, 4]  # NULL matches nothing


def test_registry_style_filter_with_tags(engine: Engine) -> None:
    clauses = []
    for comp in parse_registered_model_filter("name ILIKE 'churn%' and tags.team ILIKE 'RISK'"):
        if comp.kind == "tag":
            clauses.append(
                keyed_clause(comp, owner=model_tags.c.model_id == models.c.id, key_column=model_tags.c.key,
                             value_column=model_tags.c.value)
            )
        else:
            clauses.append(compile_comparison(models.c[comp.key], comp.op, comp.value))
    assert _ids(engine, *clauses) == [1, 2]
    (missing,) = parse_registered_model_filter("tags.team IS NULL")
    owner = model_tags.c.model_id == models.c.id
    assert _ids(engine, keyed_clause(missing, owner=owner, key_column=model_tags.c.key, value_column=model_tags.c.value)) == [3, 4, 5]


def test_sort_key_orders_by_code_point(engine: Engine) -> None:
    with engine.connect() as conn:
        names = list(conn.execute(select(models.c.name).order_by(sort_key(models.c.name))).scalars())
    assert names == sorted(n for _, n, _ in ROWS)
