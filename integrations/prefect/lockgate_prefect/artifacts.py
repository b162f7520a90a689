"""Gate verdicts as a markdown table, attached to the Prefect run as an artifact."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from lockgate.registry.verdicts import verdict_markdown_table

from lockgate_prefect import _compat

__all__ = ["artifact_key", "lockgate_links", "publish_verdicts", "verdict_markdown"]


def artifact_key(name: str, target: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) for a model's target."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"lockgate-gate-{name}-{target}".lower()).strip("-")
    return slug[:100]


def lockgate_links(
    tracking_uri: str, *, name: str, version: int, run_id: str | None
) -> list[tuple[str, str]]:
    """(label, URL) of the version's and its run's pages in the Lockgate UI, for a server store.

    The UI serves ``<server>/models/<name>/versions/<n>`` and ``<server>/runs/<run_id>``; a
    database store has no UI to link to, so the list is empty.
    """
    from lockgate import settings

    if not settings.is_http_uri(tracking_uri):
        return []
    base = tracking_uri.rstrip("/")
    links = [(f"{name} v{version}", f"{base}/models/{quote(name, safe='')}/versions/{version}")]
    if run_id:
        links.append((f"run {run_id}", f"{base}/runs/{quote(run_id, safe='')}"))
    return links


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
    links: Sequence[tuple[str, str]] = (),
) -> str:
    """A markdown report: outcome line, links to Lockgate, then the core's verdict table."""
    outcome = "promoted" if passed else "refused"
    lines = [f"### Lockgate gate: {_cell(name)} v{version} → {_cell(target)}: **{outcome}**", ""]
    if links:
        lines += ["In Lockgate: " + " · ".join(f"[{_cell(label)}]({url})" for label, url in links), ""]
    if holder_version is not None:
        lines += [f"Current holder: v{holder_version}", ""]
    if note:
        lines += [_cell(note), ""]
    lines.append(verdict_markdown_table(results))
    return "\n".join(lines) + "\n"


def publish_verdicts(markdown: str, *, name: str, target: str, description: str) -> Any:
    """Attach the report to the current Prefect run (a no-op outside one)."""
    if not _compat.in_prefect_run():
        return None
    return _compat.create_markdown_artifact(markdown, key=artifact_key(name, target), description=description)
