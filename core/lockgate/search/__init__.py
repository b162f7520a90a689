"""MLflow's search language for runs, experiments and the model registry, compiled to SQL.

``apply_run_search`` / ``apply_experiment_search`` narrow and sort a ``select`` over the
tracking tables; the registry compiles its own tables with ``compile_comparison`` and
``keyed_clause``. Parsing needs no database: ``parse_run_filter("metrics.loss < 0.1")``.
"""

from __future__ import annotations

from lockgate.search.experiments import (
    EXPERIMENT_GRAMMAR,
    apply_experiment_search,
    parse_experiment_filter,
    parse_experiment_order_by,
)
from lockgate.search.grammar import (
    RUN_GRAMMAR,
    Comparison,
    FieldSpec,
    Grammar,
    OrderBy,
    parse_filter,
    parse_order_by,
    parse_order_by_list,
    parse_run_filter,
    quote_key,
    quote_string,
    tags_filter,
)
from lockgate.search.models import (
    MODEL_VERSION_GRAMMAR,
    REGISTERED_MODEL_GRAMMAR,
    parse_model_version_filter,
    parse_model_version_order_by,
    parse_registered_model_filter,
    parse_registered_model_order_by,
)
from lockgate.search.runs import apply_run_search, run_filter_clauses, run_order_by
from lockgate.search.sql import compile_comparison, json_text, keyed_clause, pattern_match, sort_key
from lockgate.store.paging import decode_page_token, encode_page_token

__all__ = [
    "EXPERIMENT_GRAMMAR",
    "MODEL_VERSION_GRAMMAR",
    "REGISTERED_MODEL_GRAMMAR",
    "RUN_GRAMMAR",
    "Comparison",
    "FieldSpec",
    "Grammar",
    "OrderBy",
    "apply_experiment_search",
    "apply_run_search",
    "compile_comparison",
    "decode_page_token",
    "encode_page_token",
    "json_text",
    "keyed_clause",
    "parse_experiment_filter",
    "parse_experiment_order_by",
    "parse_filter",
    "parse_model_version_filter",
    "parse_model_version_order_by",
    "parse_order_by",
    "parse_order_by_list",
    "parse_registered_model_filter",
    "parse_registered_model_order_by",
    "parse_run_filter",
    "pattern_match",
    "quote_key",
    "quote_string",
    "run_filter_clauses",
    "run_order_by",
    "sort_key",
    "tags_filter",
]
