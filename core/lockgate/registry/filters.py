"""MLflow's registry filter grammar, parsed into comparisons the SQL service compiles.

Registered models: ``name = 'churn'``, ``name LIKE 'churn%'``, ``name ILIKE '%CHURN%'``,
``tags.team = 'risk'`` joined with ``AND``. Model versions add ``version_number``,
``run_id`` (with ``IN``), ``source_path``, ``current_stage`` and ``user_id``.
Values are always bound parameters, never pasted into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from lockgate.errors import InvalidArgument

__all__ = ["Comparison", "parse_model_filter", "parse_version_filter"]


@dataclass(frozen=True)
class Comparison:
    """``kind`` is "attribute" or "tag"; ``key`` the attribute or tag name."""

    kind: Literal["attribute", "tag"]
    key: str
    op: str
    value: Any


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
      | (?P<op>!=|<>|<=|>=|=|<|>)
      | (?P<punct>[(),])
      | (?P<ident>[A-Za-z_][\w]*(?:\.(?:`[^`]+`|"[^"]+"|[\w\-.]+))?)
    )""",
    re.VERBOSE,
)

_STRING_OPS = {"=", "!=", "LIKE", "ILIKE"}
_NUMERIC_OPS = {"=", "!=", "<", "<=", ">", ">="}

_MODEL_ATTRS: dict[str, set[str]] = {"name": _STRING_OPS | {"IN", "NOT IN"}}
_VERSION_ATTRS: dict[str, set[str]] = {
    "name": _STRING_OPS | {"IN", "NOT IN"},
    "version_number": _NUMERIC_OPS | {"IN", "NOT IN"},
    "run_id": {"=", "!=", "IN", "NOT IN"},
    "source_path": _STRING_OPS,
    "current_stage": {"=", "!=", "IN", "NOT IN"},
    "user_id": {"=", "!=", "LIKE", "ILIKE"},
}
_ALIASES = {"version": "version_number", "source": "source_path", "stage": "current_stage"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise InvalidArgument(f"Invalid filter {text!r}: cannot parse at {text[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _parse(text: str | None, attrs: dict[str, set[str]]) -> list[Comparison]:
    if not text or not text.strip():
        return []
    toks = _tokens(text)
    out: list[Comparison] = []
    i = 0

    def fail(msg: str) -> InvalidArgument:
        return InvalidArgument(f"Invalid filter {text!r}: {msg}")

    def value_at(j: int) -> tuple[Any, int]:
        if j >= len(toks):
            raise fail("a comparison is missing its value")
        kind, raw = toks[j]
        if kind == "string":
            return _unquote(raw), j + 1
        if kind == "number":
            return (float(raw) if "." in raw else int(raw)), j + 1
        raise fail(f"expected a quoted string or number, got {raw!r}")

    while i < len(toks):
        kind, raw = toks[i]
        if kind != "ident":
            raise fail(f"expected a key, got {raw!r}")
        if "." in raw and raw.split(".", 1)[0].lower() == "tags":
            tag = raw.split(".", 1)[1]
            if tag[:1] in "`\"" and tag[-1:] in "`\"":
                tag = tag[1:-1]
            ckind: Literal["attribute", "tag"] = "tag"
            key = tag
            allowed = _STRING_OPS
        else:
            key = _ALIASES.get(raw.lower(), raw.lower())
            if key not in attrs:
                raise fail(f"unknown key {raw!r} (valid: {', '.join(sorted(attrs))}, tags.<key>)")
            ckind = "attribute"
            allowed = attrs[key]
        i += 1
        if i >= len(toks):
            raise fail(f"{raw!r} is missing an operator")
        okind, oraw = toks[i]
        op = oraw.upper() if okind == "ident" else oraw
        if op == "<>":
            op = "!="
        if op == "NOT" and i + 1 < len(toks) and toks[i + 1][1].upper() == "IN":
            op, i = "NOT IN", i + 1
        if op not in allowed:
            raise fail(f"operator {oraw!r} is not supported for {raw!r} (use {', '.join(sorted(allowed))})")
        i += 1
        if op in ("IN", "NOT IN"):
            if i >= len(toks) or toks[i][1] != "(":
                raise fail(f"{op} needs a parenthesised list")
            i += 1
            values: list[Any] = []
            while True:
                v, i = value_at(i)
                values.append(v)
                if i < len(toks) and toks[i][1] == ",":
                    i += 1
                    continue
                if i < len(toks) and toks[i][1] == ")":
                    i += 1
                    break
                raise fail(f"{op} list is not closed")
            value: Any = values
        else:
            value, i = value_at(i)
        if key == "version_number" and ckind == "attribute":
            try:
                value = [int(v) for v in value] if isinstance(value, list) else int(value)
            except (TypeError, ValueError):
                raise fail(f"version_number must be compared with integers, got {value!r}") from None
        elif isinstance(value, list):
            value = [str(v) for v in value]
        elif not isinstance(value, str):
            raise fail(f"{raw!r} must be compared with a quoted string, got {value!r}")
        out.append(Comparison(kind=ckind, key=key, op=op, value=value))
        if i < len(toks):
            if toks[i][1].upper() != "AND":
                raise fail(f"expected AND between comparisons, got {toks[i][1]!r} (OR is not supported)")
            i += 1
            if i >= len(toks):
                raise fail("dangling AND")
    return out


def parse_model_filter(text: str | None) -> list[Comparison]:
    """Comparisons of a registered-model filter string (empty for no filter)."""
    return _parse(text, _MODEL_ATTRS)


def parse_version_filter(text: str | None) -> list[Comparison]:
    """Comparisons of a model-version filter string (empty for no filter)."""
    return _parse(text, _VERSION_ATTRS)
