"""``lockgate run`` and ``lockgate rerun``: run a project entry point as a tracked run, or repeat one."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated, Any

import typer

from lockgate.cli.common import TrackingUriOption, err_console, handle_errors, print_json

__all__ = ["register", "rerun_command", "run_command"]


def register(app: typer.Typer) -> None:
    """Mount ``lockgate run`` and ``lockgate rerun``."""
    app.command("run")(run_command)
    app.command("rerun")(rerun_command)


def _parse_params(pairs: list[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"-P takes name=value, not {pair!r}.")
        params[key] = value
    return params


def _sigterm_as_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _report(run: Any) -> None:
    status = run.info.status.value
    color = "green" if status == "FINISHED" else "red"
    exit_code = run.data.tags.get("lockgate.project.exit_code")
    tail = f" (exit code {exit_code})" if status == "FAILED" and exit_code else ""
    err_console.print(f"Run [bold]{run.info.run_id}[/] [{color}]{status}[/]{tail}", highlight=False)
    if status != "FINISHED":
        raise typer.Exit(1)


def _run_interruptibly(func: Any, *args: Any, **kwargs: Any) -> Any:
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        return func(*args, **kwargs)
    except KeyboardInterrupt:
        err_console.print("[red]Interrupted[/]: the entry point was stopped and the run marked KILLED.")
        raise typer.Exit(130) from None


def _print_plan(described: dict[str, Any]) -> None:
    print_json(described)


@handle_errors
def run_command(
    uri: Annotated[str, typer.Argument(help="Project folder (path#subdir) or git URI (file:///r.git#sub).")] = ".",
    entry_point: Annotated[str, typer.Option("--entry-point", "-e", help="Entry point name, or a .py/.sh file.")] = "main",
    param: Annotated[list[str] | None, typer.Option("--param", "-P", help="name=value (repeatable).")] = None,
    version: Annotated[str | None, typer.Option("--version", "-v", help="Git commit or branch.")] = None,
    env_manager: Annotated[str | None, typer.Option("--env-manager", help="uv, local or conda (default: uv when the project declares an environment).")] = None,
    experiment_id: Annotated[str | None, typer.Option("--experiment-id", help="Experiment id or name.")] = None,
    run_name: Annotated[str | None, typer.Option("--run-name")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the resolved command and environment; run nothing.")] = False,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Run a project entry point in its locked environment as a tracked run."""
    from lockgate.projects import runner

    params = _parse_params(param)
    if dry_run:
        prepared = runner.plan(uri, entry_point=entry_point, parameters=params, version=version,
                               env_manager=env_manager, build=False)
        prepared.source.cleanup()
        _print_plan(prepared.describe())
        return
    done = _run_interruptibly(runner.run, uri, entry_point=entry_point, parameters=params,
                              version=version, env_manager=env_manager, experiment_id=experiment_id,
                              run_name=run_name, tracking_uri=tracking_uri, echo=True)
    _report(done)


@handle_errors
def rerun_command(
    run_id: Annotated[str, typer.Argument(help="The run to repeat.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would run; run nothing.")] = False,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Re-run a past project run: same commit, entry point, parameters and locked environment."""
    from lockgate.projects import runner

    if dry_run:
        prepared, _old = runner.rerun_plan(run_id, tracking_uri=tracking_uri, build=False)
        prepared.source.cleanup()
        _print_plan(prepared.describe())
        return
    done = _run_interruptibly(runner.rerun, run_id, tracking_uri=tracking_uri, echo=True)
    _report(done)
