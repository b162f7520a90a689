"""``lockgate gc``: permanently remove soft-deleted runs and experiments, with their artifacts."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from lockgate.cli.common import TrackingUriOption, console, get_client, handle_errors

__all__ = ["gc_command", "register"]


def register(app: typer.Typer) -> None:
    """Mount ``lockgate gc``."""
    app.command("gc")(gc_command)


_DURATION = re.compile(r"^(\d+)([smhd])$")


def _parse_duration_ms(text: str) -> int:
    match = _DURATION.match(text.strip())
    if not match:
        raise typer.BadParameter(f"Invalid duration {text!r}: use e.g. 30d, 12h, 15m or 90s.")
    number, unit = int(match.group(1)), match.group(2)
    return number * {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}[unit]


@handle_errors
def gc_command(
    older_than: Annotated[str | None, typer.Option("--older-than", help="Only what was deleted this long ago, e.g. 30d.")] = None,
    run_ids: Annotated[list[str] | None, typer.Option("--run-id", help="Only these deleted runs (repeatable).")] = None,
    experiment_ids: Annotated[list[str] | None, typer.Option("--experiment-id", help="Only these deleted experiments.")] = None,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Permanently delete soft-deleted runs and experiments, with their artifacts."""
    older_ms = _parse_duration_ms(older_than) if older_than else None
    removed = get_client(tracking_uri).gc(older_than_ms=older_ms, run_ids=run_ids, experiment_ids=experiment_ids)
    console.print(f"Permanently deleted {len(removed)} run(s).")
