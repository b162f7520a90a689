"""The registry's filter and order_by languages, on the shared search grammar.

Registered models use ``lockgate.search.models`` as is (``name``, ``tags.<key>``, timestamps).
Model versions add two Lockgate fields to MLflow's: ``current_stage`` (matched
case-insensitively against the four stages) and ``user_id``. Values are always bound
parameters, never pasted into SQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cache

from lockgate.search.grammar import (
    Comparison,
    FieldSpec,
    Grammar,
    OrderBy,
    parse_filter,
    parse_order_by_list,
)
from lockgate.search.models import (
    MODEL_VERSION_GRAMMAR,
    parse_registered_model_filter,
    parse_registered_model_order_by,
)

__all__ = [
    "Comparison",
    "OrderBy",
    "parse_model_filter",
    "parse_model_order_by",
    "parse_version_filter",
    "parse_version_order_by",
]

_EQUALITY = FieldSpec("string", frozenset({"=", "!=", "IN", "NOT IN"}))
_TEXT = FieldSpec("string", frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}))


@cache
def _version_grammar() -> Grammar:
    fixed = dict(MODEL_VERSION_GRAMMAR.fixed)
    fixed["attribute"] = {**fixed["attribute"], "current_stage": _EQUALITY, "user_id": _TEXT}
    aliases = {**MODEL_VERSION_GRAMMAR.aliases, "stage": "current_stage"}
    return dataclasses.replace(MODEL_VERSION_GRAMMAR, fixed=fixed, aliases=aliases)


def parse_model_filter(text: str | None) -> list[Comparison]:
    """Comparisons of a registered-model filter string (empty for no filter)."""
    return parse_registered_model_filter(text)


def parse_model_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    """Sort keys of a registered-model order_by list."""
    return parse_registered_model_order_by(order_by)


def parse_version_filter(text: str | None) -> list[Comparison]:
    """Comparisons of a model-version filter string (empty for no filter)."""
    return parse_filter(text, grammar=_version_grammar())


def parse_version_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    """Sort keys of a model-version order_by list."""
    return parse_order_by_list(list(order_by or ()), grammar=_version_grammar())
