"""The registry's search languages: registered-model and model-version filters and order_by.

Registered models: ``name`` (=, !=, LIKE, ILIKE, IN, NOT IN) and ``tags.<key>``.
Model versions: ``name``, ``run_id``, ``source_path`` (string operators), ``version_number``
(numeric comparisons) and ``tags.<key>``. Both order by ``name``, ``creation_timestamp``
(alias ``timestamp``) and ``last_updated_timestamp``; versions also by ``version_number``.

Parsing yields ``Comparison`` objects (kind ``attribute`` or ``tag``); the registry compiles
them against its own tables with ``compile_comparison`` (attributes) and ``keyed_clause`` (tags).
"""

from __future__ import annotations

from collections.abc import Sequence

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
from lockgate.search.sql import compile_comparison, keyed_clause, pattern_match, sort_key

__all__ = [
    "MODEL_VERSION_GRAMMAR",
    "REGISTERED_MODEL_GRAMMAR",
    "compile_comparison",
    "keyed_clause",
    "parse_model_version_filter",
    "parse_model_version_order_by",
    "parse_registered_model_filter",
    "parse_registered_model_order_by",
    "pattern_match",
    "sort_key",
]

_TEXT = FieldSpec("string", frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}))
_NUMBER = FieldSpec("number", NUMBER_OPS - {"IS NULL", "IS NOT NULL"})
_TIMES = {"creation_timestamp": _NUMBER, "last_updated_timestamp": _NUMBER}

REGISTERED_MODEL_GRAMMAR = Grammar(
    prefixes={**ATTRIBUTE_PREFIXES, **TAG_PREFIXES},
    keyed={"tag": STRING_FIELD},
    fixed={"attribute": {"name": _TEXT, **_TIMES}},
    aliases={"timestamp": "creation_timestamp"},
    orderable_kinds=frozenset({"attribute"}),
    orderable_attributes=frozenset({"name", "creation_timestamp", "last_updated_timestamp"}),
    display_prefixes=("tags.",),
)

MODEL_VERSION_GRAMMAR = Grammar(
    prefixes={**ATTRIBUTE_PREFIXES, **TAG_PREFIXES},
    keyed={"tag": STRING_FIELD},
    fixed={
        "attribute": {
            "name": _TEXT,
            "run_id": _TEXT,
            "source_path": _TEXT,
            "version_number": _NUMBER,
            **_TIMES,
        }
    },
    aliases={"timestamp": "creation_timestamp", "version": "version_number", "source": "source_path"},
    orderable_kinds=frozenset({"attribute"}),
    orderable_attributes=frozenset({"name", "version_number", "creation_timestamp", "last_updated_timestamp"}),
    display_prefixes=("tags.",),
)


def parse_registered_model_filter(filter_string: str | None) -> list[Comparison]:
    """The clauses of a registered-model filter such as ``name LIKE 'churn%' and tags.team = 'risk'``."""
    return parse_filter(filter_string, grammar=REGISTERED_MODEL_GRAMMAR)


def parse_registered_model_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    """The sort keys of a registered-model order_by list such as ``["name ASC"]``."""
    return parse_order_by_list(list(order_by or ()), grammar=REGISTERED_MODEL_GRAMMAR)


def parse_model_version_filter(filter_string: str | None) -> list[Comparison]:
    """The clauses of a model-version filter such as ``name = 'churn' and run_id IN ('a', 'b')``."""
    return parse_filter(filter_string, grammar=MODEL_VERSION_GRAMMAR)


def parse_model_version_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    """The sort keys of a model-version order_by list such as ``["version_number DESC"]``."""
    return parse_order_by_list(list(order_by or ()), grammar=MODEL_VERSION_GRAMMAR)
