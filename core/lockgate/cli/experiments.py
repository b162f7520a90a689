"""``lockgate experiments``: create, list, rename, delete and restore experiments."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lockgate.cli.common import (
    OutputOption,
    TrackingUriOption,
    check_output,
    console,
    fmt_time,
    get_client,
    handle_errors,
    print_json,
    view_type_of,
)

__all__ = ["experiments_app", "register"]

experiments_app = typer.Typer(
    help="Create, list, rename, delete and restore experiments.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Mount ``lockgate experiments``."""
    app.add_typer(experiments_app, name="experiments")


@experiments_app.command("list")
@handle_errors
def experiments_list(
    view: Annotated[str, typer.Option(help="active, deleted or all.")] = "active",
    filter_string: Annotated[str, typer.Option("--filter", "-f")] = "",
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """List experiments."""
    check_output(output)
    view_type = view_type_of(view)
    experiments = get_client(tracking_uri).search_experiments(view_type=view_type, filter_string=filter_string)
    if output == "json":
        print_json([e.model_dump(mode="json") for e in experiments])
        return
    table = Table(title=f"{len(experiments)} experiment(s)")
    for col in ("id", "name", "stage", "artifact location", "created"):
        table.add_column(col)
    for e in experiments:
        table.add_row(e.experiment_id, e.name, e.lifecycle_stage.value, e.artifact_location, fmt_time(e.creation_time))
    console.print(table)


@experiments_app.command("create")
@handle_errors
def experiments_create(
    name: str,
    artifact_location: Annotated[str | None, typer.Option("--artifact-location")] = None,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Create an experiment and print its id."""
    experiment_id = get_client(tracking_uri).create_experiment(name, artifact_location=artifact_location)
    console.print(f"Created experiment {name!r} with id {experiment_id}")


@experiments_app.command("rename")
@handle_errors
def experiments_rename(experiment_id: str, new_name: str, tracking_uri: TrackingUriOption = None) -> None:
    """Rename an experiment."""
    get_client(tracking_uri).rename_experiment(experiment_id, new_name)
    console.print(f"Renamed experiment {experiment_id} to {new_name!r}")


@experiments_app.command("delete")
@handle_errors
def experiments_delete(experiment_id: str, tracking_uri: TrackingUriOption = None) -> None:
    """Soft-delete an experiment and its runs."""
    get_client(tracking_uri).delete_experiment(experiment_id)
    console.print(f"Deleted experiment {experiment_id}")


@experiments_app.command("restore")
@handle_errors
def experiments_restore(experiment_id: str, tracking_uri: TrackingUriOption = None) -> None:
    """Restore a soft-deleted experiment and its runs."""
    get_client(tracking_uri).restore_experiment(experiment_id)
    console.print(f"Restored experiment {experiment_id}")
