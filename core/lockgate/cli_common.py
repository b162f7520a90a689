"""Pieces every ``lockgate`` sub-command shares: console, options, JSON output, error handling."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from lockgate.errors import GateFailed, LockgateError

__all__ = [
    "console",
    "err_console",
    "TrackingUriOption",
    "OutputOption",
    "get_client",
    "print_json",
    "handle_errors",
    "check_output",
    "fmt_time",
    "fmt_value",
]

console = Console()
err_console = Console(stderr=True)

TrackingUriOption = Annotated[
    Optional[str],
    typer.Option(
        "--tracking-uri",
        envvar="LOCKGATE_TRACKING_URI",
        help="Tracking store: sqlite:///..., postgresql+psycopg://..., http(s)://server. "
        "Default: the SQLite file under LOCKGATE_HOME.",
        show_default=False,
    ),
]
OutputOption = Annotated[str, typer.Option("--output", "-o", help="table or json.")]


def get_client(tracking_uri: str | None = None):  # type: ignore[no-untyped-def]
    from lockgate.client import LockgateClient

    return LockgateClient(tracking_uri)


def print_json(data: Any) -> None:
    """Print JSON to stdout without rich markup, so it pipes into jq."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn LockgateErrors into one clear line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GateFailed as exc:
            err_console.print(f"[bold red]Gate failed[/]: {exc.message}", highlight=False)
            raise typer.Exit(1) from None
        except LockgateError as exc:
            err_console.print(f"[bold red]Error[/] ({exc.code}): {exc.message}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def check_output(output: str) -> str:
    if output not in ("table", "json"):
        raise typer.BadParameter(f"--output must be 'table' or 'json', not {output!r}.")
    return output


def fmt_time(ms: int | None) -> str:
    if not ms:
        return ""
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


