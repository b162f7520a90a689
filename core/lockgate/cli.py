"""The ``lockgate`` command line: experiments, runs, search, database upkeep, gc.

Every command calls ``LockgateClient``; errors print as one red line naming what was wrong
and exit with status 1 (2 for usage errors), never with a traceback.
"""

from __future__ import annotations

import re
from typing import Annotated, Optional

import typer
from rich.table import Table

from lockgate.cli_common import (
    OutputOption,
    TrackingUriOption,
    check_output,
    console,
    fmt_time,
    fmt_value,
    get_client,
    handle_errors,
    print_json,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="lockgate",
    help="Lockgate: experiment tracking, models, a gated model registry and serving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="Search, show, delete and restore runs.", no_args_is_help=True)
experiments_app = typer.Typer(help="Create, list, rename, delete and restore experiments.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema upkeep (Alembic migrations).", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(experiments_app, name="experiments")
app.add_typer(db_app, name="db")

# ---------------------------------------------------------------------- runs
@runs_app.command("search")
@handle_errors
def runs_search(
    experiment: Annotated[list[str], typer.Option("--experiment", "-e", help="Experiment name or id (repeatable).")],
    filter_string: Annotated[str, typer.Option("--filter", "-f", help="e.g. \"metrics.loss < 0.1 and params.depth = '6'\"")] = "",
    order_by: Annotated[Optional[list[str]], typer.Option("--order-by", help="e.g. 'metrics.loss ASC' (repeatable).")] = None,
    max_results: Annotated[int, typer.Option("--max-results", "-n", min=1)] = 100,
    view: Annotated[str, typer.Option(help="active, deleted or all.")] = "active",
    columns: Annotated[Optional[list[str]], typer.Option("--column", "-c", help="Extra column, e.g. metrics.auc.")] = None,
    page_token: Annotated[Optional[str], typer.Option("--page-token")] = None,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Search runs with MLflow's filter language and print them as a table or JSON."""
    from lockgate.entities import ViewType

    check_output(output)
    views = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}
    if view not in views:
        raise typer.BadParameter(f"--view must be active, deleted or all, not {view!r}.")
    runs = get_client(tracking_uri).search_runs(
        experiment, filter_string, order_by=order_by, max_results=max_results, view_type=views[view],
        page_token=page_token,
    )
    if output == "json":
        print_json({"runs": [r.model_dump(mode="json", by_alias=True) for r in runs], "next_page_token": runs.token})
        return
    metric_keys = sorted({k for r in runs for k in r.data.metrics})[:8]
    param_keys = sorted({k for r in runs for k in r.data.params})[:6]
    extra = list(columns or [])
    table = Table(title=f"{len(runs)} run(s)", show_lines=False)
    for name in ("run_id", "name", "status", "started"):
        table.add_column(name, no_wrap=True, min_width=32 if name == "run_id" else None)
    for key in param_keys:
        table.add_column(f"params.{key}")
    for key in metric_keys:
        table.add_column(f"metrics.{key}", justify="right")
    for col in extra:
        table.add_column(col)
    for r in runs:
        row = [r.info.run_id, r.info.run_name, r.info.status.value, fmt_time(r.info.start_time)]
        row += [r.data.params.get(k, "") for k in param_keys]
        row += [fmt_value(r.data.metrics[k]) if k in r.data.metrics else "" for k in metric_keys]
        for col in extra:
            kind, _, key = col.partition(".")
            source = {"metrics": r.data.metrics, "params": r.data.params, "tags": r.data.tags}.get(kind, {})
            row.append(fmt_value(source.get(key, "")))
        table.add_row(*row)
    console.print(table)
    if runs.token:
        console.print(f"More results: --page-token {runs.token}", highlight=False)


@runs_app.command("get")
@handle_errors
def runs_get(run_id: str, output: OutputOption = "table", tracking_uri: TrackingUriOption = None) -> None:
    """Show one run: status, params, latest metrics and tags."""
    check_output(output)
    run = get_client(tracking_uri).get_run(run_id)
    if output == "json":
        print_json(run.model_dump(mode="json", by_alias=True))
        return
    info = run.info
    console.print(f"[bold]{info.run_name}[/] {info.run_id}  {info.status.value}  experiment {info.experiment_id}")
    for title, values in (("params", run.data.params), ("metrics", run.data.metrics), ("tags", run.data.tags)):
        if values:
            table = Table(title=title)
            table.add_column("key")
            table.add_column("value")
            for key, value in sorted(values.items()):
                table.add_row(key, fmt_value(value))
            console.print(table)


@runs_app.command("delete")
@handle_errors
def runs_delete(run_ids: list[str], tracking_uri: TrackingUriOption = None) -> None:
    """Soft-delete runs (restore with `runs restore`; `lockgate gc` makes it permanent)."""
    client = get_client(tracking_uri)
    for run_id in run_ids:
        client.delete_run(run_id)
        console.print(f"Deleted run {run_id}")


@runs_app.command("restore")
@handle_errors
def runs_restore(run_ids: list[str], tracking_uri: TrackingUriOption = None) -> None:
    """Restore soft-deleted runs."""
    client = get_client(tracking_uri)
    for run_id in run_ids:
        client.restore_run(run_id)
        console.print(f"Restored run {run_id}")


@runs_app.command("history")
@handle_errors
def runs_history(run_id: str, key: str, output: OutputOption = "table", tracking_uri: TrackingUriOption = None) -> None:
    """Print every logged point of one metric."""
    check_output(output)
    points = get_client(tracking_uri).get_metric_history(run_id, key)
    if output == "json":
        print_json([p.model_dump(mode="json") for p in points])
        return
    table = Table(title=f"{key}: {len(points)} point(s)")
    for col in ("step", "value", "time"):
        table.add_column(col, justify="right")
    for p in points:
        table.add_row(str(p.step), fmt_value(p.value), fmt_time(p.timestamp))
    console.print(table)


# --------------------------------------------------------------- experiments
@experiments_app.command("list")
@handle_errors
def experiments_list(
    view: Annotated[str, typer.Option(help="active, deleted or all.")] = "active",
    filter_string: Annotated[str, typer.Option("--filter", "-f")] = "",
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """List experiments."""
    from lockgate.entities import ViewType

    check_output(output)
    views = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}
    if view not in views:
        raise typer.BadParameter(f"--view must be active, deleted or all, not {view!r}.")
    experiments = get_client(tracking_uri).search_experiments(view_type=views[view], filter_string=filter_string)
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
    artifact_location: Annotated[Optional[str], typer.Option("--artifact-location")] = None,
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


# ----------------------------------------------------------------------- db
@db_app.command("upgrade")
@handle_errors
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Apply database migrations (they also run automatically on first use)."""
    from lockgate import settings
    from lockgate.store.sql import migrate
    from lockgate.store.sql.engine import get_engine, upgrade_database

    uri = tracking_uri or settings.tracking_uri()
    engine = get_engine(uri, upgrade=False)
    before = migrate.current_revision(engine)
    upgrade_database(engine, revision)
    after = migrate.current_revision(engine)
    console.print(f"Database at {after} (was {before or 'empty'}).")


@db_app.command("current")
@handle_errors
def db_current(tracking_uri: TrackingUriOption = None) -> None:
    """Print the database's migration revision and the newest one available."""
    from lockgate import settings
    from lockgate.store.sql import migrate
    from lockgate.store.sql.engine import get_engine

    engine = get_engine(tracking_uri or settings.tracking_uri(), upgrade=False)
    console.print(f"current: {migrate.current_revision(engine) or 'empty'}  head: {migrate.head_revision()}")


# ----------------------------------------------------------------------- gc
_DURATION = re.compile(r"^(\d+)([smhd])$")


def _parse_duration_ms(text: str) -> int:
    match = _DURATION.match(text.strip())
    if not match:
        raise typer.BadParameter(f"Invalid duration {text!r}: use e.g. 30d, 12h, 15m or 90s.")
    number, unit = int(match.group(1)), match.group(2)
    return number * {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}[unit]


@app.command("gc")
@handle_errors
def gc(
    older_than: Annotated[Optional[str], typer.Option("--older-than", help="Only what was deleted this long ago, e.g. 30d.")] = None,
    run_ids: Annotated[Optional[list[str]], typer.Option("--run-id", help="Only these deleted runs (repeatable).")] = None,
    experiment_ids: Annotated[Optional[list[str]], typer.Option("--experiment-id", help="Only these deleted experiments.")] = None,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Permanently delete soft-deleted runs and experiments, with their artifacts."""
    older_ms = _parse_duration_ms(older_than) if older_than else None
    removed = get_client(tracking_uri).gc(older_than_ms=older_ms, run_ids=run_ids, experiment_ids=experiment_ids)
    console.print(f"Permanently deleted {len(removed)} run(s).")


def _mount_optional_commands() -> None:
    """Attach command groups that live in their own modules (registry, models, server ...)."""
    import importlib

    for module_name, attr, name in (
        ("lockgate.cli_models", "models_app", "models"),
        ("lockgate.cli_server", "server_command", "server"),
        ("lockgate.cli_ui", "ui_command", "ui"),
        ("lockgate.cli_users", "users_app", "users"),
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        target = getattr(module, attr)
        if name == "models":
            from lockgate.cli_models_serving import register as add_serving_commands

            add_serving_commands(target)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)


_mount_optional_commands()


def main() -> None:
    """Entry point of the ``lockgate`` console script."""
    app()


if __name__ == "__main__":
    main()
