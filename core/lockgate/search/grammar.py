r"""MLflow's search language parsed into plain comparisons and sort keys.

A filter is clauses joined by ``AND``; each clause is an identifier, an operator and a value:
``metrics.loss < 0.05 and params.depth = '6' and attributes.status IN ('FINISHED', 'KILLED')``.
Identifiers are ``<prefix>.<key>`` (``metrics.``, ``params.``, ``tags.``, ``attributes.``,
``datasets.`` and their MLflow aliases) or a bare attribute name (``status``); keys holding
spaces or dashes go in backticks or double quotes (``metrics.`f1 score```). Strings take single
or double quotes; a quote inside doubles itself or takes a backslash (``'it''s'``, ``'it\'s'``)
and ``\\`` is one backslash. In LIKE and ILIKE patterns ``%`` matches any run of characters,
``_`` one character, and a backslash makes the next character literal.

Which identifiers and operators a language accepts is data (``Grammar``): runs, experiments,
registered models and model versions each have one, and share this parser. Every error is an
``InvalidArgument`` naming the character position (0-based) and the token found there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from lockgate.errors import InvalidArgument

__all__ = [
    "ATTRIBUTE_PREFIXES",
    "MAX_FILTER_CLAUSES",
    "MAX_FILTER_LENGTH",
    "MAX_IN_LIST",
    "MAX_ORDER_BY",
    "NUMBER_FIELD",
    "NUMBER_OPS",
    "RUN_GRAMMAR",
    "STRING_FIELD",
    "STRING_OPS",
    "TAG_PREFIXES",
    "Comparison",
    "FieldSpec",
    "Grammar",
    "OrderBy",
    "Value",
    "parse_filter",
    "parse_order_by",
    "parse_order_by_list",
    "parse_run_filter",
    "quote_key",
    "quote_string",
    "tags_filter",
]

# Bounds that keep compilation and the database's expression depth small: SQLite refuses
# expression trees deeper than 1,000 and PostgreSQL's driver more than 65,535 parameters, so
# bad input must stop here, as a clear INVALID_PARAMETER_VALUE, never reach them as an outage.
MAX_FILTER_LENGTH = 32_768
MAX_FILTER_CLAUSES = 200
MAX_IN_LIST = 10_000
MAX_ORDER_BY = 20

Value = str | int | float | tuple[str, ...] | None
ValueType = Literal["string", "number"]

STRING_OPS: frozenset[str] = frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"})
NUMBER_OPS: frozenset[str] = frozenset({"=", "!=", "<", "<=", ">", ">=", "IS NULL", "IS NOT NULL"})
_OP_ORDER = ("=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL")


@dataclass(frozen=True)
class Comparison:
    """One filter clause: ``kind`` is metric/param/tag/attribute/dataset, ``key`` the name.

    ``value`` is a str for string fields, an int or float for numeric ones, a tuple of str
    for IN / NOT IN, and None for IS NULL / IS NOT NULL. Attribute keys are canonical
    (``created`` arrives as ``start_time``).
    """

    kind: str
    key: str
    op: str
    value: Value


@dataclass(frozen=True)
class OrderBy:
    """One sort key: ``OrderBy("metric", "loss", ascending=True)`` for ``metrics.loss ASC``."""

    kind: str
    key: str
    ascending: bool = True


@dataclass(frozen=True)
class FieldSpec:
    """The value type a field holds and the operators it accepts."""

    value_type: ValueType
    ops: frozenset[str]


@dataclass(frozen=True)
class Grammar:
    """What one search language accepts.

    ``prefixes`` maps each spelling of ``<prefix>.`` (lower case) to a kind. Kinds in
    ``keyed`` take any key (metrics, params, tags); kinds in ``fixed`` take only the listed
    names (attributes, dataset fields), after ``aliases`` turn alternative names into
    canonical ones. A bare name is an attribute.
    """

    prefixes: Mapping[str, str]
    keyed: Mapping[str, FieldSpec]
    fixed: Mapping[str, Mapping[str, FieldSpec]]
    aliases: Mapping[str, str] = field(default_factory=dict)
    orderable_kinds: frozenset[str] = frozenset()
    orderable_attributes: frozenset[str] = frozenset()
    display_prefixes: tuple[str, ...] = ()

    def spec(self, kind: str, key: str) -> FieldSpec | None:
        if kind in self.keyed:
            return self.keyed[kind]
        return self.fixed.get(kind, {}).get(key)


ATTRIBUTE_PREFIXES: Mapping[str, str] = {"attribute": "attribute", "attributes": "attribute", "attr": "attribute"}
TAG_PREFIXES: Mapping[str, str] = {"tag": "tag", "tags": "tag"}


STRING_FIELD = FieldSpec("string", STRING_OPS)
NUMBER_FIELD = FieldSpec("number", NUMBER_OPS)
_DATASET = FieldSpec("string", frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}))

RUN_GRAMMAR = Grammar(
    prefixes={
        "metric": "metric",
        "metrics": "metric",
        "param": "param",
        "params": "param",
        "parameter": "param",
        "parameters": "param",
        "dataset": "dataset",
        "datasets": "dataset",
        "run": "attribute",
        **TAG_PREFIXES,
        **ATTRIBUTE_PREFIXES,
    },
    keyed={"metric": NUMBER_FIELD, "param": STRING_FIELD, "tag": STRING_FIELD},
    fixed={
        "attribute": {
            "run_id": STRING_FIELD,
            "run_name": STRING_FIELD,
            "status": STRING_FIELD,
            "user_id": STRING_FIELD,
            "artifact_uri": STRING_FIELD,
            "lifecycle_stage": STRING_FIELD,
            "start_time": NUMBER_FIELD,
            "end_time": NUMBER_FIELD,
        },
        "dataset": {"name": _DATASET, "digest": _DATASET, "context": _DATASET},
    },
    aliases={
        "created": "start_time",
        "Created": "start_time",
        "run name": "run_name",
        "Run name": "run_name",
        "Run Name": "run_name",
        "run_uuid": "run_id",
    },
    orderable_kinds=frozenset({"metric", "param", "tag", "attribute"}),
    orderable_attributes=frozenset(
        {"run_id", "run_name", "status", "user_id", "artifact_uri", "lifecycle_stage", "start_time", "end_time"}
    ),
    display_prefixes=("metrics.", "params.", "tags.", "attributes.", "datasets."),
)

_KIND_LABEL = {
    "metric": "metric",
    "param": "param",
    "tag": "tag",
    "attribute": "attribute",
    "dataset": "dataset field",
}
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Unquoted keys: what MLflow accepts in metric/param/tag names, minus the space.
_KEY_RE = re.compile(r"[\w.\-/:]+")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SYMBOL_OPS = ("!=", "<=", ">=", "=", "<", ">")
_OPERATOR_HINT = "expected an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL)"
_MAX_SQLITE_INT = 2**63


def quote_string(value: str) -> str:
    """``value`` as a single-quoted filter literal that parses back to exactly ``value``."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_key(key: str) -> str:
    """``key`` in backticks, so any tag, param or metric name parses back to exactly ``key``."""
    return "`" + key.replace("`", "``") + "`"


def tags_filter(tags: Mapping[str, str]) -> str:
    """A filter matching runs whose tags equal every entry of ``tags``, quoted safely."""
    return " and ".join(f"tags.{quote_key(k)} = {quote_string(str(v))}" for k, v in tags.items())


class _Parser:
    """A cursor over the text; each method consumes one construct or raises with a position."""

    def __init__(self, text: str, grammar: Grammar, what: str) -> None:
        self.text = text
        self.pos = 0
        self.grammar = grammar
        self.what = what

    # ----------------------------------------------------------------- helpers
    def fail(self, pos: int, reason: str) -> InvalidArgument:
        token = self._token_at(pos)
        if not token:
            where = "(end of input)"
        elif token.isspace():
            where = "at a space"
        else:
            where = f"near {token!r}"
        return InvalidArgument(
            f"Invalid {self.what} at position {pos} {where}: {reason}",
            details={"position": pos, "token": token, self.what.replace(" ", "_"): self.text},
        )

    def _token_at(self, pos: int) -> str:
        text = self.text
        if pos >= len(text):
            return ""
        char = text[pos]
        if char in "'\"`":
            end = text.find(char, pos + 1)
            token = text[pos : end + 1] if end != -1 else text[pos:]
        elif char in "<>=!":
            match = re.compile(r"[<>=!]+").match(text, pos)
            token = match.group(0) if match else char
        else:
            match = re.compile(r"[\w.\-/:+]+").match(text, pos)
            token = match.group(0) if match else char
        return token if len(token) <= 40 else token[:37] + "..."

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_ws()
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def word(self) -> str:
        match = _WORD_RE.match(self.text, self.pos)
        if not match:
            return ""
        self.pos = match.end()
        return match.group(0)

    def keyword(self, *choices: str) -> str | None:
        """Consume the next word if it is one of ``choices`` (case-insensitive), as a whole word."""
        self.skip_ws()
        match = _WORD_RE.match(self.text, self.pos)
        if match and match.group(0).upper() in choices:
            self.pos = match.end()
            return match.group(0).upper()
        return None

    def quoted(self) -> str:
        """A string between the quote at the cursor and its closing twin."""
        quote = self.text[self.pos]
        start = self.pos
        self.pos += 1
        out: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            nxt = text[self.pos + 1] if self.pos + 1 < len(text) else ""
            if char == "\\" and nxt in (quote, "\\") and quote != "`":
                out.append(nxt)
                self.pos += 2
            elif char == quote and nxt == quote:
                out.append(quote)
                self.pos += 2
            elif char == quote:
                self.pos += 1
                return "".join(out)
            else:
                out.append(char)
                self.pos += 1
        raise self.fail(start, f"unterminated {'backtick' if quote == '`' else 'string'}: add the closing {quote}")

    # ------------------------------------------------------------- identifiers
    def identifier(self) -> tuple[str, str, int]:
        """``(kind, canonical key, position)`` of the identifier at the cursor."""
        self.skip_ws()
        start = self.pos
        if self.peek() in ("`", '"'):
            return self._fixed("attribute", self.quoted(), start)
        word = self.word()
        if not word:
            raise self.fail(start, "expected an identifier such as metrics.<key>, params.<key>, tags.<key> or an attribute name")
        if self.peek() != ".":
            return self._fixed("attribute", word, start)
        kind = self.grammar.prefixes.get(word.lower())
        if kind is None:
            prefixes = ", ".join(self.grammar.display_prefixes)
            raise self.fail(start, f"unknown prefix {word + '.'!r} (expected one of {prefixes})")
        self.pos += 1
        key_start = self.pos
        if self.peek() in ("`", '"'):
            key = self.quoted()
        else:
            match = _KEY_RE.match(self.text, self.pos)
            if not match:
                raise self.fail(key_start, f"expected a key after {word + '.'!r}; quote keys holding spaces in backticks")
            key = match.group(0)
            self.pos = match.end()
        if not key:
            raise self.fail(key_start, "the key is empty")
        if kind in self.grammar.keyed:
            return kind, key, start
        kind, key, _ = self._fixed(kind, key, key_start)
        return kind, key, start

    def _fixed(self, kind: str, name: str, pos: int) -> tuple[str, str, int]:
        names = self.grammar.fixed.get(kind, {})
        canonical = self.grammar.aliases.get(name, name)
        if canonical not in names:
            label = _KIND_LABEL.get(kind, kind)
            known = ", ".join(sorted(names))
            hint = f"unknown {label} {name!r} (expected one of: {known})"
            if kind == "attribute" and self.grammar.keyed:
                hint += f"; other fields need a prefix: {', '.join(self.grammar.display_prefixes)}"
            raise self.fail(pos, hint)
        return kind, canonical, pos

    # ---------------------------------------------------------------- operators
    def operator(self) -> tuple[str, int]:
        self.skip_ws()
        start = self.pos
        for symbol in _SYMBOL_OPS:
            if self.text.startswith(symbol, self.pos):
                self.pos += len(symbol)
                return symbol, start
        word = self.word().upper()
        if word in ("LIKE", "ILIKE", "IN"):
            return word, start
        if word == "NOT":
            if self.keyword("IN"):
                return "NOT IN", start
            raise self.fail(self._next_pos(), "expected IN after NOT (NOT LIKE is not supported)")
        if word == "IS":
            if self.keyword("NULL"):
                return "IS NULL", start
            if self.keyword("NOT") and self.keyword("NULL"):
                return "IS NOT NULL", start
            raise self.fail(self._next_pos(), "expected NULL or NOT NULL after IS")
        raise self.fail(start, _OPERATOR_HINT)

    def _next_pos(self) -> int:
        self.skip_ws()
        return self.pos

    # ------------------------------------------------------------------- values
    def number(self, label: str) -> int | float:
        self.skip_ws()
        start = self.pos
        match = _NUMBER_RE.match(self.text, self.pos)
        if not match or (match.end() < len(self.text) and (self.text[match.end()].isalnum() or self.text[match.end()] in "_.")):
            if self.peek() in ("'", '"'):
                raise self.fail(start, f"expected a number for {label}, not a quoted string")
            raise self.fail(start, f"expected a number for {label}")
        self.pos = match.end()
        literal = match.group(0)
        if re.fullmatch(r"[+-]?\d+", literal) and abs(int(literal)) < _MAX_SQLITE_INT:
            return int(literal)
        return float(literal)

    def string(self, label: str) -> str:
        self.skip_ws()
        start = self.pos
        if self.peek() not in ("'", '"'):
            found = self._token_at(start)
            if found and _NUMBER_RE.fullmatch(found):
                raise self.fail(start, f"expected a quoted string for {label}: write '{found}', {label}s are compared as text")
            raise self.fail(start, f"expected a quoted string for {label}")
        return self.quoted()

    def string_list(self, label: str) -> tuple[str, ...]:
        self.skip_ws()
        if self.peek() != "(":
            raise self.fail(self.pos, "expected a parenthesized list of quoted strings, e.g. ('a', 'b')")
        self.pos += 1
        items: list[str] = []
        while True:
            if len(items) >= MAX_IN_LIST:
                raise self.fail(self.pos, f"an IN list may hold at most {MAX_IN_LIST} values")
            items.append(self.string(label))
            self.skip_ws()
            if self.peek() == ",":
                self.pos += 1
                continue
            if self.peek() == ")":
                self.pos += 1
                return tuple(items)
            raise self.fail(self.pos, "expected ',' or ')' in the list")

    # ----------------------------------------------------------------- clauses
    def comparison(self) -> Comparison:
        kind, key, _ = self.identifier()
        spec = self.grammar.spec(kind, key)
        assert spec is not None  # identifier() only returns known fields
        label = f"{_KIND_LABEL.get(kind, kind)} {key!r}"
        op, op_pos = self.operator()
        if op not in spec.ops:
            allowed = ", ".join(o for o in _OP_ORDER if o in spec.ops)
            raise self.fail(op_pos, f"operator {op} is not supported for {label} (use {allowed})")
        value: Value
        if op in ("IS NULL", "IS NOT NULL"):
            value = None
        elif op in ("IN", "NOT IN"):
            value = self.string_list(_KIND_LABEL.get(kind, kind))
        elif spec.value_type == "number":
            value = self.number(label)
        else:
            value = self.string(_KIND_LABEL.get(kind, kind))
        return Comparison(kind, key, op, value)

    def filter(self) -> list[Comparison]:
        if self.at_end():
            return []
        clauses = [self.comparison()]
        while not self.at_end():
            pos = self.pos
            if self.keyword("AND"):
                if self.at_end():
                    raise self.fail(self.pos, "expected a clause after AND")
                if len(clauses) >= MAX_FILTER_CLAUSES:
                    raise self.fail(pos, f"a filter may join at most {MAX_FILTER_CLAUSES} clauses with AND")
                clauses.append(self.comparison())
                continue
            if self.keyword("OR"):
                raise self.fail(pos, "OR is not supported; clauses can only be joined with AND")
            raise self.fail(pos, "expected AND or the end of the filter")
        return clauses

    def order_by(self) -> OrderBy:
        if self.at_end():
            raise self.fail(self.pos, "expected an identifier to order by")
        kind, key, pos = self.identifier()
        if kind not in self.grammar.orderable_kinds or (
            kind in self.grammar.fixed and key not in self.grammar.orderable_attributes
        ):
            raise self.fail(pos, f"cannot order by {_KIND_LABEL.get(kind, kind)} {key!r}")
        direction = self.keyword("ASC", "DESC")
        if not self.at_end():
            if direction is None:
                raise self.fail(self.pos, "expected ASC, DESC or the end of the clause")
            raise self.fail(self.pos, "expected the end of the clause")
        return OrderBy(kind, key, direction != "DESC")


def parse_filter(filter_string: str | None, *, grammar: Grammar = RUN_GRAMMAR) -> list[Comparison]:
    """The clauses of ``filter_string`` (empty for None or blank); InvalidArgument if malformed."""
    if filter_string is None:
        return []
    if not isinstance(filter_string, str):
        raise InvalidArgument(f"Invalid filter {filter_string!r}: it must be a string.")
    if len(filter_string) > MAX_FILTER_LENGTH:
        raise InvalidArgument(
            f"Invalid filter: {len(filter_string)} characters, the limit is {MAX_FILTER_LENGTH} "
            f"(and at most {MAX_FILTER_CLAUSES} clauses).",
            details={"filter_length": len(filter_string)},
        )
    return _Parser(filter_string, grammar, "filter").filter()


def parse_run_filter(filter_string: str | None) -> list[Comparison]:
    """The clauses of a run search filter such as ``metrics.loss < 0.1 and params.lr = '0.01'``."""
    return parse_filter(filter_string, grammar=RUN_GRAMMAR)


def parse_order_by(clause: str, *, grammar: Grammar = RUN_GRAMMAR) -> OrderBy:
    """The sort key of one order_by clause such as ``metrics.loss ASC`` (ascending by default)."""
    if not isinstance(clause, str):
        raise InvalidArgument(f"Invalid order_by clause {clause!r}: it must be a string.")
    if len(clause) > 1000:
        raise InvalidArgument(f"Invalid order_by clause {clause[:40]!r}...: {len(clause)} characters, the limit is 1000.")
    return _Parser(clause, grammar, "order_by clause").order_by()


def parse_order_by_list(clauses: list[str] | tuple[str, ...] | None, *, grammar: Grammar = RUN_GRAMMAR) -> list[OrderBy]:
    """Every clause of an order_by list, parsed; a repeated field is InvalidArgument."""
    if isinstance(clauses, str):
        clauses = [clauses]
    if clauses is not None and len(clauses) > MAX_ORDER_BY:
        raise InvalidArgument(f"Invalid order_by: {len(clauses)} clauses, the limit is {MAX_ORDER_BY}.")
    parsed: list[OrderBy] = []
    seen: set[tuple[str, str]] = set()
    for clause in clauses or ():
        order = parse_order_by(clause, grammar=grammar)
        if (order.kind, order.key) in seen:
            raise InvalidArgument(
                f"Invalid order_by {list(clauses or ())!r}: {order.kind} {order.key!r} appears twice.",
                details={"order_by": clause},
            )
        seen.add((order.kind, order.key))
        parsed.append(order)
    return parsed
