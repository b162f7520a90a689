"""``lockgate runs``: search, show, delete and restore runs, and print a metric's history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.table import Table

from lockgate.cli.common import (
    MaxResultsOption,
    OutputOption,
    PageTokenOption,
    TrackingUriOption,
    check_output,
    console,
    fmt_time,
    fmt_value,
    get_client,
    handle_errors,
    print_json,
    view_type_of,
)

__all__ = ["register", "runs_app"]

runs_app = typer.Typer(help="Search, show, delete and restore runs.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Mount ``lockgate runs``."""
    app.add_typer(runs_app, name="runs")


@runs_app.command("search")
@handle_errors
def runs_search(
    experiment: Annotated[list[str], typer.Option("--experiment", "-e", help="Experiment name or id (repeatable).")],
    filter_string: Annotated[str, typer.Option("--filter", "-f", help="e.g. \"metrics.loss < 0.1 and params.depth = '6'\"")] = "",
    order_by: Annotated[list[str] | None, typer.Option("--order-by", help="e.g. 'metrics.loss ASC' (repeatable).")] = None,
    max_results: MaxResultsOption = 100,
    view: Annotated[str, typer.Option(help="active, deleted or all.")] = "active",
    columns: Annotated[list[str] | None, typer.Option("--column", "-c", help="Extra column, e.g. metrics.auc.")] = None,
    page_token: PageTokenOption = None,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Search runs with MLflow's filter language and print them as a table or JSON."""
    check_output(output)
    view_type = view_type_of(view)
    runs = get_client(tracking_uri).search_runs(
        experiment, filter_string, order_by=order_by, max_results=max_results, view_type=view_type,
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
            sources: dict[str, Mapping[str, Any]] = {
                "metrics": r.data.metrics, "params": r.data.params, "tags": r.data.tags}
            row.append(fmt_value(sources.get(kind, {}).get(key, "")))
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
