"""Gate verdicts as a markdown table, attached to the Prefect run as an artifact."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lockgate_prefect import _compat

__all__ = ["artifact_key", "publish_verdicts", "verdict_markdown"]


def artifact_key(name: str, target: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) for a model's target."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"lockgate-gate-{name}-{target}".lower()).strip("-")
    return slug[:100]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def verdict_markdown(
    name: str,
    *,
    version: int,
    target: str,
    passed: bool,
    results: Sequence[Any],
    holder_version: int | None = None,
    note: str | None = None,
) -> str:
    """A markdown report: outcome line, then one table row per rule (verdict, observed, expected, why)."""
    outcome = "promoted" if passed else "refused"
    lines = [f"### Lockgate gate: {_cell(name)} v{version} → {_cell(target)}: **{outcome}**", ""]
    if holder_version is not None:
        lines += [f"Current holder: v{holder_version}", ""]
    if note:
        lines += [_cell(note), ""]
    if results:
        lines += ["| Verdict | Rule | Observed | Expected | Why |", "|---|---|---|---|---|"]
        for r in results:
            verdict = "✅ pass" if r.passed else "❌ fail"
            lines.append(
                f"| {verdict} | {_cell(r.rule)} | {_cell(r.observed)} | {_cell(r.expected)} | {_cell(r.message)} |"
            )
    else:
        lines.append("No gate policy guards this target; nothing to check.")
    return "\n".join(lines) + "\n"


def publish_verdicts(markdown: str, *, name: str, target: str, description: str) -> Any:
    """Attach the report to the current Prefect run (a no-op outside one)."""
    if not _compat.in_prefect_run():
        return None
    return _compat.create_markdown_artifact(markdown, key=artifact_key(name, target), description=description)
