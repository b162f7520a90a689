"""Run search on real databases agrees with a plain-Python reading of the same filter.

Hypothesis generates runs (metrics with NaN, ±inf and missing keys; params; tags; statuses;
dataset inputs) written straight into the tables, and filters and order_by lists rendered as
text. The SQL result must equal, as a set (and for order_by as a list), what a small Python
evaluator independent of the SQL compiler says, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import math
import operator
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lockgate.search import Comparison, OrderBy, apply_run_search, parse_run_filter, quote_string
from lockgate.store.sql.engine import get_engine
from lockgate.store.sql.tables import (
    DatasetTable,
    ExperimentTable,
    LatestMetricTable,
    ParamTable,
    RunInputTable,
    RunTable,
    RunTagTable,
)
from sqlalchemy import Engine, delete, insert, select

R = RunTable
NAN = float("nan")
INF = float("inf")

# Small pools so that equal values, ties and case variants actually meet.
STRINGS = ["", "a", "A", "ab", "aB", "Ab", "abc", "b", "a%b", "a_b", "a\\b", "x*y", "[x]", "?", " a", "é", "€€", "it's", 'q"q']
PATTERN_PIECES = ["%", "_", "a", "A", "b", "B", "\\%", "\\_", "\\\\", "\\", "*", "?", "[", "é", "'", " ", "x"]
METRIC_KEYS = ["m1", "m2", "m-3"]
PARAM_KEYS = ["p1", "p2", "p 3"]
TAG_KEYS = ["t1", "t.2"]
NUMBERS = [0.0, -0.0, 1.0, -1.0, 0.5, 2.5, 3.0, 1e-9, 1e300, -1e300, INF, -INF]
RUN_IDS = [uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % 2**128).hex for i in range(1, 41)]
STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
USERS = ["ana", "Ana", "bo"]
URIS = ["s3://b/x", "file:///tmp/a", ""]
DATASETS = [("iris", "d1"), ("Iris", "d2"), ("wine", "d1")]
CONTEXTS = [None, "train", "Train", "test"]
CONTEXT_TAG = "mlflow.data.context"


@dataclass
class FakeRun:
    run_id: str
    run_name: str
    status: str
    user_id: str
    artifact_uri: str
    lifecycle_stage: str
    start_time: int
    end_time: int | None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    inputs: list[tuple[str, str, str | None]] = field(default_factory=list)  # name, digest, context


# ------------------------------------------------------------------ strategies
numbers = st.one_of(st.sampled_from(NUMBERS), st.floats(-10, 10, allow_nan=False))
metric_values = st.one_of(st.just(NAN), st.sampled_from(NUMBERS), st.floats(-10, 10, allow_nan=False))
strings = st.sampled_from(STRINGS)
patterns = st.lists(st.sampled_from(PATTERN_PIECES), max_size=4).map("".join)


@st.composite
def fake_runs(draw: Any) -> list[FakeRun]:
    ids = draw(st.lists(st.sampled_from(RUN_IDS), min_size=2, max_size=16, unique=True))
    runs = []
    for run_id in ids:
        runs.append(
            FakeRun(
                run_id=run_id,
                run_name=draw(strings),
                status=draw(st.sampled_from(STATUSES)),
                user_id=draw(st.sampled_from(USERS)),
                artifact_uri=draw(st.sampled_from(URIS)),
                lifecycle_stage=draw(st.sampled_from(["active", "deleted"])),
                start_time=draw(st.integers(0, 4)),
                end_time=draw(st.none() | st.integers(0, 4)),
                metrics=draw(st.dictionaries(st.sampled_from(METRIC_KEYS), metric_values, min_size=1)),
                params=draw(st.dictionaries(st.sampled_from(PARAM_KEYS), strings, min_size=1)),
                tags=draw(st.dictionaries(st.sampled_from(TAG_KEYS), strings)),
                inputs=[
                    (name, digest, draw(st.sampled_from(CONTEXTS)))
                    for name, digest in draw(st.lists(st.sampled_from(DATASETS), max_size=2, unique=True))
                ],
            )
        )
    return runs


def _string_value(op: str, pool: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    if op in ("LIKE", "ILIKE"):
        return st.one_of(patterns, pool)
    if op in ("IN", "NOT IN"):
        return st.lists(pool, min_size=1, max_size=3).map(tuple)
    if op in ("IS NULL", "IS NOT NULL"):
        return st.none()
    return pool


STRING_OPS = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]
NUMBER_OPS = ["=", "!=", "<", "<=", ">", ">=", "IS NULL", "IS NOT NULL"]
STRING_ATTRIBUTES = {
    "run_id": st.sampled_from(RUN_IDS),
    "run_name": strings,
    "status": st.sampled_from(STATUSES + ["finished"]),
    "user_id": st.sampled_from(USERS),
    "artifact_uri": st.sampled_from(URIS),
    "lifecycle_stage": st.sampled_from(["active", "deleted"]),
}


@st.composite
def comparisons(draw: Any) -> Comparison:
    kind = draw(st.sampled_from(["metric", "metric", "param", "tag", "attribute", "attribute", "dataset"]))
    if kind == "metric":
        op = draw(st.sampled_from(NUMBER_OPS))
        value = None if op.startswith("IS") else draw(numbers)
        return Comparison("metric", draw(st.sampled_from(METRIC_KEYS + ["absent"])), op, value)
    if kind in ("param", "tag"):
        keys = PARAM_KEYS if kind == "param" else TAG_KEYS
        op = draw(st.sampled_from(STRING_OPS))
        return Comparison(kind, draw(st.sampled_from(keys + ["absent"])), op, draw(_string_value(op, strings)))
    if kind == "dataset":
        key = draw(st.sampled_from(["name", "digest", "context"]))
        pool = {"name": st.sampled_from(["iris", "Iris", "wine", "x"]), "digest": st.sampled_from(["d1", "d2"]),
                "context": st.sampled_from(["train", "Train", "test"])}[key]
        op = draw(st.sampled_from(STRING_OPS[:6]))
        return Comparison("dataset", key, op, draw(_string_value(op, pool)))
    key = draw(st.sampled_from([*STRING_ATTRIBUTES, "start_time", "end_time"]))
    if key in ("start_time", "end_time"):
        op = draw(st.sampled_from(NUMBER_OPS))
        value = None if op.startswith("IS") else draw(st.sampled_from([0, 1, 2, 3, 4, 5, 2.5, -1]))
        return Comparison("attribute", key, op, value)
    op = draw(st.sampled_from(STRING_OPS))
    return Comparison("attribute", key, op, draw(_string_value(op, STRING_ATTRIBUTES[key])))


order_bys = st.lists(
    st.one_of(
        st.builds(OrderBy, st.just("metric"), st.sampled_from(METRIC_KEYS), st.booleans()),
        st.builds(OrderBy, st.just("param"), st.sampled_from(PARAM_KEYS), st.booleans()),
        st.builds(OrderBy, st.just("tag"), st.sampled_from(TAG_KEYS), st.booleans()),
        st.builds(
            OrderBy,
            st.just("attribute"),
            st.sampled_from(["run_name", "status", "start_time", "end_time", "run_id", "user_id"]),
            st.booleans(),
        ),
    ),
    max_size=2,
    unique_by=lambda o: (o.kind, o.key),
)


# ------------------------------------------------------------------ rendering
_PREFIX = {"metric": "metrics", "param": "params", "tag": "tags", "attribute": "attributes", "dataset": "datasets"}


def render_identifier(kind: str, key: str) -> str:
    return f"{_PREFIX[kind]}.`{key}`" if not re.fullmatch(r"[A-Za-z_][\w.]*", key) else f"{_PREFIX[kind]}.{key}"


def render_number(value: float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "1e999" if value > 0 else "-1e999"
    return repr(value)


def render(comparison: Comparison) -> str:
    lhs = render_identifier(comparison.kind, comparison.key)
    value = comparison.value
    if value is None:
        return f"{lhs} {comparison.op}"
    if isinstance(value, tuple):
        return f"{lhs} {comparison.op} ({', '.join(quote_string(v) for v in value)})"
    if isinstance(value, str):
        return f"{lhs} {comparison.op} {quote_string(value)}"
    return f"{lhs} {comparison.op} {render_number(value)}"


def render_order(order: OrderBy) -> str:
    return f"{render_identifier(order.kind, order.key)} {'ASC' if order.ascending else 'DESC'}"


# --------------------------------------------------------- python reference
def like(value: str, pattern: str, *, fold: bool) -> bool:
    """LIKE as documented: % any run, _ one character, backslash quotes the next character."""
    if fold:  # ILIKE folds ASCII letters only (SQLite's LIKE does no more)
        value, pattern = value.translate(_ASCII_LOWER), pattern.translate(_ASCII_LOWER)
    regex, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            regex.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        regex.append({"%": ".*", "_": "."}.get(pattern[i], re.escape(pattern[i])))
        i += 1
    return re.fullmatch("".join(regex), value, re.DOTALL) is not None


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "LIKE": lambda v, p: like(v, p, fold=False),
    "ILIKE": lambda v, p: like(v, p, fold=True),
    "IN": lambda v, items: v in items,
    "NOT IN": lambda v, items: v not in items,
}


def holds(lhs: Any, comparison: Comparison) -> bool:
    if comparison.op == "IS NULL":
        return lhs is None
    if comparison.op == "IS NOT NULL":
        return lhs is not None
    if lhs is None:
        return False
    return _PY_OPS[comparison.op](lhs, comparison.value)  # NaN compares like IEEE says


def matches(run: FakeRun, comparison: Comparison) -> bool:
    kind, key = comparison.kind, comparison.key
    if kind == "metric":
        return holds(run.metrics.get(key), comparison)
    if kind == "param":
        return holds(run.params.get(key), comparison)
    if kind == "tag":
        return holds(run.tags.get(key), comparison)
    if kind == "attribute":
        return holds(getattr(run, key), comparison)
    values = [{"name": n, "digest": d, "context": c}[key] for n, d, c in run.inputs]
    return any(holds(v, comparison) for v in values if v is not None)


def python_order(runs: list[FakeRun], orders: list[OrderBy]) -> list[str]:
    ordered = sorted(runs, key=lambda r: (-r.start_time, r.run_id))
    for order in reversed(orders):
        def value(run: FakeRun, order: OrderBy = order) -> Any:
            if order.kind == "attribute":
                return getattr(run, order.key)
            return {"metric": run.metrics, "param": run.params, "tag": run.tags}[order.kind].get(order.key)

        def rank(run: FakeRun) -> int:
            v = value(run)
            if v is None:
                return 2
            return 1 if isinstance(v, float) and math.isnan(v) else 0

        # Present values sorted in the requested direction (stable, so ties keep the finer
        # order), then NaN, then missing, whatever the direction.
        present = sorted((r for r in ordered if rank(r) == 0), key=value, reverse=not order.ascending)
        ordered = present + [r for r in ordered if rank(r) == 1] + [r for r in ordered if rank(r) == 2]
    return [r.run_id for r in ordered]


# ------------------------------------------------------------------ database
def write_runs(engine: Engine, experiment_id: int, runs: list[FakeRun]) -> None:
    with engine.begin() as conn:
        for table in (RunInputTable, DatasetTable, LatestMetricTable, ParamTable, RunTagTable, RunTable):
            conn.execute(delete(table))
        conn.execute(
            insert(R),
            [
                {"run_uuid": r.run_id, "experiment_id": experiment_id, "name": r.run_name, "user_id": r.user_id,
                     "status": r.status, "start_time": r.start_time, "end_time": r.end_time,
                     "lifecycle_stage": r.lifecycle_stage, "artifact_uri": r.artifact_uri}
                for r in runs
            ],
        )
        metrics = [
            {"run_uuid": r.run_id, "key": k, "value": 0.0 if math.isnan(v) else v, "is_nan": math.isnan(v), "timestamp": 0, "step": 0}
            for r in runs for k, v in r.metrics.items()
        ]
        params = [{"run_uuid": r.run_id, "key": k, "value": v} for r in runs for k, v in r.params.items()]
        tags = [{"run_uuid": r.run_id, "key": k, "value": v} for r in runs for k, v in r.tags.items()]
        if metrics:
            conn.execute(insert(LatestMetricTable), metrics)
        if params:
            conn.execute(insert(ParamTable), params)
        if tags:
            conn.execute(insert(RunTagTable), tags)
        dataset_ids = {ds: uuid.uuid4().hex for ds in DATASETS}
        conn.execute(
            insert(DatasetTable),
            [{"dataset_uuid": i, "experiment_id": experiment_id, "name": n, "digest": d, "source_type": "", "source": ""}
             for (n, d), i in dataset_ids.items()],
        )
        inputs = [
            {"run_uuid": r.run_id, "dataset_uuid": dataset_ids[(n, d)],
                 "tags_json": json.dumps({CONTEXT_TAG: c} if c is not None else {"other": "x"})}
            for r in runs for n, d, c in r.inputs
        ]
        if inputs:
            conn.execute(insert(RunInputTable), inputs)


def sql_search(
    engine: Engine, experiment_id: int, filter_string: str, order_by: list[str], page_end: int | None = None
) -> list[str]:
    stmt = select(R).where(R.c.experiment_id == experiment_id, R.c.lifecycle_stage.in_(["active", "deleted"]))
    stmt = apply_run_search(stmt, filter_string=filter_string, order_by=order_by, page_end=page_end)
    if page_end is not None:
        stmt = stmt.limit(page_end)
    with engine.connect() as conn:
        return [row.run_uuid for row in conn.execute(stmt)]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> Iterator[tuple[Engine, int]]:
    uri = request.getfixturevalue("sqlite_uri" if request.param == "sqlite" else "postgres_uri")
    engine = get_engine(uri)
    with engine.begin() as conn:
        exp_id = conn.execute(
            insert(ExperimentTable).returning(ExperimentTable.c.experiment_id),
            {"name": "search-props", "artifact_location": "/tmp/x", "lifecycle_stage": "active", "creation_time": 0, "last_update_time": 0},
        ).scalar_one()
    yield engine, exp_id


_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_SETTINGS
@given(runs=fake_runs(), filters=st.lists(st.lists(comparisons(), min_size=1, max_size=2), min_size=4, max_size=10))
def test_filters_match_python(database: tuple[Engine, int], runs: list[FakeRun], filters: list[list[Comparison]]) -> None:
    engine, exp_id = database
    write_runs(engine, exp_id, runs)
    for clauses in filters:
        text = " AND ".join(render(c) for c in clauses)
        assert parse_run_filter(text) == clauses, text
        expected = {r.run_id for r in runs if all(matches(r, c) for c in clauses)}
        got = sql_search(engine, exp_id, text, [])
        event(f"{len(clauses)} clause(s), {'some' if expected else 'no'} runs match")
        for c in clauses:
            if c.kind == "metric" and c.op == "!=" and any(math.isnan(r.metrics.get(c.key, 0)) for r in runs):
                event("NaN metric under !=")
            if c.op in ("LIKE", "ILIKE") and expected:
                event(f"{c.op} with matches")
        assert len(got) == len(set(got)), f"duplicate rows for {text!r}"
        assert set(got) == expected, text


@_SETTINGS
@given(
    runs=fake_runs(),
    cases=st.lists(st.tuples(st.lists(comparisons(), max_size=2), order_bys), min_size=1, max_size=5),
    page_end=st.integers(1, 12),
)
def test_order_by_matches_python(
    database: tuple[Engine, int],
    runs: list[FakeRun],
    cases: list[tuple[list[Comparison], list[OrderBy]]],
    page_end: int,
) -> None:
    engine, exp_id = database
    write_runs(engine, exp_id, runs)
    for clauses, orders in cases:
        text = " and ".join(render(c) for c in clauses)
        selected = [r for r in runs if all(matches(r, c) for c in clauses)]
        expected = python_order(selected, orders)
        order_by = [render_order(o) for o in orders]
        assert sql_search(engine, exp_id, text, order_by) == expected, (text, orders)
        # One page with the page_end promise (the ranked fast path for a lone metric sort).
        paged = sql_search(engine, exp_id, text, order_by, page_end=page_end)
        assert paged == expected[:page_end], (text, orders, page_end)


@_SETTINGS
@given(runs=fake_runs(), order=st.builds(OrderBy, st.just("metric"), st.sampled_from(METRIC_KEYS + ["absent"]), st.booleans()),
       page_end=st.integers(1, 18))
def test_top_by_metric_pages(database: tuple[Engine, int], runs: list[FakeRun], order: OrderBy, page_end: int) -> None:
    engine, exp_id = database
    write_runs(engine, exp_id, runs)
    expected = python_order(runs, [order])
    assert sql_search(engine, exp_id, "", [render_order(order)], page_end=page_end) == expected[:page_end]
