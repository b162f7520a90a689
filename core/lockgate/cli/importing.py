"""``lockgate import``: bring another tracking server's data into Lockgate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lockgate.cli.common import console, err_console, handle_errors

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from lockgate.importers.mlflow import ImportReport

__all__ = ["import_app", "import_mlflow_command", "register"]

import_app = typer.Typer(help="Import experiments, runs and models from another server.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Mount ``lockgate import``."""
    app.add_typer(import_app, name="import")


class _RichProgress:
    """One progress line per kind of record (transient: the summary table replaces it)."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar: Progress = Progress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), console=err_console, transient=True)
        self.tasks: dict[str, TaskID] = {}

    def start(self, task: str, *, total: int | None = None) -> None:
        self.tasks[task] = self.bar.add_task(task, total=total)

    def advance(self, task: str, amount: int = 1) -> None:
        if task in self.tasks:
            self.bar.advance(self.tasks[task], amount)


def _summary(report: ImportReport) -> Table:
    verb = "would import" if report.dry_run else "imported"
    table = Table(title=f"{'Dry run: ' if report.dry_run else ''}import from {report.source} "
                        f"({report.seconds:.1f} s)")
    for column in ("", verb, "already here", "clash", "failed"):
        table.add_column(column, justify="left" if not column else "right")
    for kind, counts in report.counts.items():
        table.add_row(kind, f"{counts.created:,}", f"{counts.present:,}", f"{counts.conflict:,}", f"{counts.failed:,}")
    return table


@import_app.command("mlflow")
@handle_errors
def import_mlflow_command(
    source: Annotated[str, typer.Option("--from", help="MLflow server (http://host:5000) or its database "
                                                       "(sqlite:///mlflow.db, postgresql://...).")],
    experiments: Annotated[str | None, typer.Option(help="Comma-separated experiment names (default: all).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would be imported; write nothing.")] = False,
    merge: Annotated[bool, typer.Option("--merge", help="Import into same-named experiments and models "
                                                        "that hold other content.")] = False,
    artifacts: Annotated[bool, typer.Option("--artifacts/--no-artifacts", help="Copy artifacts too.")] = True,
    source_artifacts: Annotated[str | None, typer.Option(
        "--source-artifacts", help="Database sources: the old server's --artifacts-destination "
                                   "(where mlflow-artifacts:/ URIs point).")] = None,
    tracking_uri: Annotated[str | None, typer.Option(
        "--to", "--tracking-uri", envvar="LOCKGATE_TRACKING_URI",
        help="Where to import: a running lockgate server (http://host:8080; an admin's credentials "
             "from LOCKGATE_TRACKING_TOKEN or _USERNAME/_PASSWORD when it has auth on) or its database "
             "(sqlite:///..., postgresql+psycopg://...). Default: the SQLite file under LOCKGATE_HOME.")] = None,
) -> None:
    """Import an MLflow deployment: experiments, runs with full histories, artifacts, logged
    models and the registry, keeping run ids and version numbers. Re-run to resume."""
    from lockgate.importers.mlflow import ImportOptions, LockgateWriter, import_mlflow, open_source

    reader = open_source(source, artifacts_root=source_artifacts)
    try:
        writer = LockgateWriter(tracking_uri, source_label=reader.label)
        options = ImportOptions(experiments=experiments.split(",") if experiments else None, merge=merge,
                                dry_run=dry_run, artifacts=artifacts)
        progress = _RichProgress()
        with progress.bar:
            report = import_mlflow(reader, writer, options=options, progress=progress)
    finally:
        reader.close()
    console.print(_summary(report))
    for line in report.problems:
        console.print(f"[yellow]![/] {escape(line)}", highlight=False, soft_wrap=True)
    if report.interrupted:
        err_console.print(f"[bold red]Interrupted[/]: {escape(report.interrupted)}", highlight=False, soft_wrap=True)
        err_console.print("Everything imported so far is kept; run the same command again to resume.")
    if not report.ok:
        raise typer.Exit(1)
