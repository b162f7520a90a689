"""One way to show a gate's verdicts: rows of text cells, as a markdown table or as log lines.

The CLI's rich table, Airflow's task log, Prefect's artifacts and Dagster's check metadata
all render the same rows from here, so a verdict reads the same on every surface.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lockgate.registry.entities import RuleResult

__all__ = [
    "VERDICT_COLUMNS",
    "as_rule_results",
    "format_value",
    "verdict_lines",
    "verdict_markdown_table",
    "verdict_rows",
]

VERDICT_COLUMNS = ("rule", "verdict", "observed", "expected", "message")


def as_rule_results(results: Sequence[RuleResult | Mapping[str, Any]]) -> list[RuleResult]:
    """``results`` as ``RuleResult`` objects, whether they came as entities or as JSON dicts."""
    return [r if isinstance(r, RuleResult) else RuleResult.model_validate(r) for r in results]


def format_value(value: Any) -> str:
    """A short, human-readable cell for an observed or expected value (``-`` for none)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value) or "-"
    return str(value)


def verdict_rows(results: Sequence[RuleResult | Mapping[str, Any]]) -> list[dict[str, str]]:
    """One dict of text cells per rule, keyed by ``VERDICT_COLUMNS`` (verdict is pass/FAIL)."""
    return [
        {
            "rule": r.rule,
            "verdict": "pass" if r.passed else "FAIL",
            "observed": format_value(r.observed),
            "expected": format_value(r.expected),
            "message": r.message or "",
        }
        for r in as_rule_results(results)
    ]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def verdict_markdown_table(results: Sequence[RuleResult | Mapping[str, Any]]) -> str:
    """A markdown table of every rule's verdict; a sentence when no rule guards the target."""
    rows = verdict_rows(results)
    if not rows:
        return "No gate policy guards this target; nothing to check."
    lines = ["| " + " | ".join(VERDICT_COLUMNS) + " |", "|" + "---|" * len(VERDICT_COLUMNS)]
    lines += ["| " + " | ".join(_md_cell(row[c]) for c in VERDICT_COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def verdict_lines(results: Sequence[RuleResult | Mapping[str, Any]]) -> list[str]:
    """One log line per rule: ``[FAIL] rule: message (observed=..., expected=...)``."""
    lines = [
        f"[{row['verdict'].upper()}] {row['rule']}: {row['message']} "
        f"(observed={row['observed']}, expected={row['expected']})"
        for row in verdict_rows(results)
    ]
    return lines or ["(no gate rules for this target)"]
