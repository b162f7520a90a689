"""Pieces every ``lockgate`` command shares: console, options, the client, JSON, errors, time."""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from lockgate.cli.extras import missing_extra_message
from lockgate.errors import GateFailed, LockgateError

if TYPE_CHECKING:
    from lockgate.client import LockgateClient
    from lockgate.entities import ViewType

__all__ = [
    "BackendStoreUriOption",
    "DescriptionOption",
    "MaxResultsOption",
    "OutputOption",
    "PageTokenOption",
    "TagsOption",
    "TrackingUriOption",
    "check_output",
    "console",
    "err_console",
    "fmt_time",
    "fmt_value",
    "get_client",
    "handle_errors",
    "print_json",
    "view_type_of",
]

console = Console()
err_console = Console(stderr=True)

TrackingUriOption = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        envvar="LOCKGATE_TRACKING_URI",
        help="Tracking store: sqlite:///..., postgresql+psycopg://..., http(s)://server. "
        "Default: the SQLite file under LOCKGATE_HOME.",
        show_default=False,
    ),
]
OutputOption = Annotated[str, typer.Option("--output", "-o", help="table or json.")]
BackendStoreUriOption = Annotated[
    str | None,
    typer.Option(
        "--backend-store-uri",
        help="The server's database, holding tracking, registry and user data (default: the tracking "
        "URI, i.e. SQLite under LOCKGATE_HOME). Example: postgresql+psycopg://user@db/lockgate",
        show_default=False,
    ),
]
DescriptionOption = Annotated[str | None, typer.Option("--description", "-d")]
TagsOption = Annotated[list[str] | None, typer.Option("--tag", "-t", help="key=value (repeatable).")]
MaxResultsOption = Annotated[int, typer.Option("--max-results", "-n", min=1)]
PageTokenOption = Annotated[str | None, typer.Option("--page-token")]


def get_client(tracking_uri: str | None = None, *, privileged: bool = False) -> LockgateClient:
    """The client every command works through (``tracking_uri`` default: the one in force)."""
    from lockgate.client import LockgateClient

    return LockgateClient(tracking_uri, privileged=privileged)


def print_json(data: Any) -> None:
    """Print JSON to stdout without rich markup, so it pipes into jq."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn LockgateErrors (and a missing optional extra) into one clear line on stderr, exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GateFailed as exc:
            err_console.print(f"[bold red]Gate failed[/]: {escape(exc.message)}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except LockgateError as exc:
            # Messages are text, not markup: "pip install 'lockgate[postgres]'" must survive.
            err_console.print(f"[bold red]Error[/] ({exc.code}): {escape(exc.message)}", highlight=False,
                              soft_wrap=True)
            raise typer.Exit(1) from None
        except ModuleNotFoundError as exc:
            err_console.print(escape(missing_extra_message(exc.name or str(exc))), highlight=False,
                              soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def view_type_of(view: str) -> ViewType:
    """``--view active|deleted|all`` as a ViewType; a usage error for anything else."""
    from lockgate.entities import ViewType

    views = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}
    if view not in views:
        raise typer.BadParameter(f"--view must be active, deleted or all, not {view!r}.")
    return views[view]


def check_output(output: str) -> str:
    """``output`` when it is ``table`` or ``json``; a usage error otherwise."""
    if output not in ("table", "json"):
        raise typer.BadParameter(f"--output must be 'table' or 'json', not {output!r}.")
    return output


def fmt_time(ms: int | None) -> str:
    """The one time format of every command: UTC, ISO 8601 with ``Z`` (2026-12-01T22:10:05Z)."""
    if not ms:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_value(value: Any) -> str:
    """A metric, param or tag value for a table cell (floats to 6 significant digits)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
