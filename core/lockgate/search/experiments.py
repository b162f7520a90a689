"""Experiment search: MLflow's experiment filter and order_by applied to a ``select`` over experiments.

Fields: ``name`` (=, !=, LIKE, ILIKE, IN, NOT IN), ``creation_time`` and ``last_update_time``
(numeric comparisons), ``tags.<key>`` (string operators plus IS NULL / IS NOT NULL), each
with an optional ``attributes.`` prefix. Order by ``name``, ``creation_time``,
``last_update_time`` or ``experiment_id``; the default is ``creation_time DESC`` and ties
always fall back to ``experiment_id ASC``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.sql.elements import ColumnElement

from lockgate.search.grammar import (
    ATTRIBUTE_PREFIXES,
    NUMBER_OPS,
    STRING_FIELD,
    TAG_PREFIXES,
    Comparison,
    FieldSpec,
    Grammar,
    OrderBy,
    parse_filter,
    parse_order_by_list,
)
from lockgate.search.sql import compile_comparison, keyed_clause, sort_key
from lockgate.store.sql.tables import ExperimentTable, ExperimentTagTable

__all__ = [
    "EXPERIMENT_GRAMMAR",
    "apply_experiment_search",
    "experiment_filter_clauses",
    "parse_experiment_filter",
    "parse_experiment_order_by",
]

E = ExperimentTable
ET = ExperimentTagTable

_NAME = FieldSpec("string", frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}))
_TIME = FieldSpec("number", NUMBER_OPS - {"IS NULL", "IS NOT NULL"})

EXPERIMENT_GRAMMAR = Grammar(
    prefixes={**ATTRIBUTE_PREFIXES, **TAG_PREFIXES},
    keyed={"tag": STRING_FIELD},
    fixed={
        "attribute": {
            "name": _NAME,
            "creation_time": _TIME,
            "last_update_time": _TIME,
            "experiment_id": _TIME,
        }
    },
    orderable_kinds=frozenset({"attribute"}),
    orderable_attributes=frozenset({"name", "creation_time", "last_update_time", "experiment_id"}),
    display_prefixes=("attributes.", "tags."),
)
_DEFAULT_ORDER = (OrderBy("attribute", "creation_time", ascending=False),)


def parse_experiment_filter(filter_string: str | None) -> list[Comparison]:
    """The clauses of an experiment filter such as ``name LIKE 'churn%' and tags.team = 'risk'``."""
    return parse_filter(filter_string, grammar=EXPERIMENT_GRAMMAR)


def parse_experiment_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    """The sort keys of an experiment order_by list such as ``["name ASC"]``."""
    return parse_order_by_list(list(order_by or ()), grammar=EXPERIMENT_GRAMMAR)


def experiment_filter_clauses(comparisons: Sequence[Comparison]) -> list[ColumnElement[bool]]:
    """One WHERE clause per comparison, correlated to the experiments table."""
    clauses: list[ColumnElement[bool]] = []
    for comp in comparisons:
        if comp.kind == "tag":
            owner = ET.c.experiment_id == E.c.experiment_id
            clauses.append(keyed_clause(comp, owner=owner, key_column=ET.c.key, value_column=ET.c.value))
        else:
            clauses.append(compile_comparison(E.c[comp.key], comp.op, comp.value))
    return clauses


def apply_experiment_search(
    stmt: Select[Any],
    *,
    filter_string: str | None = "",
    order_by: Sequence[str] | None = (),
) -> Select[Any]:
    """``stmt`` (a select over the experiments table) narrowed by the filter and sorted.

    Raises InvalidArgument, naming position and token, for a malformed filter or clause.
    """
    for clause in experiment_filter_clauses(parse_experiment_filter(filter_string)):
        stmt = stmt.where(clause)
    orders = parse_experiment_order_by(order_by) or list(_DEFAULT_ORDER)
    expressions: list[ColumnElement[Any]] = []
    for order in orders:
        key = sort_key(E.c[order.key])
        expressions.append(key.asc() if order.ascending else key.desc())
    if not any(o.key == "experiment_id" for o in orders):
        expressions.append(E.c.experiment_id.asc())
    return stmt.order_by(*expressions)
