"""``lockgate models``: the registry, batch scoring and the scoring server from the command line.

Create and list models, register versions, guard an alias or stage with a gate policy file,
promote (printing every rule's verdict; exit status 1 when the gate refuses), approve, and
read the promotion history; ``predict`` scores a file and ``serve`` starts the scoring server.
Errors print as one red line, never a traceback. Every command works through
``LockgateClient``'s public methods.

Against a local database the CLI user may ``--override`` a failing gate (with ``--reason``):
whoever holds the database credentials could change it anyway, and the override is recorded.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lockgate.cli.common import (
    DescriptionOption,
    MaxResultsOption,
    OutputOption,
    PageTokenOption,
    TagsOption,
    TrackingUriOption,
    check_output,
    console,
    err_console,
    fmt_time,
    get_client,
    handle_errors,
    print_json,
)
from lockgate.cli.extras import requires_extra
from lockgate.errors import GateFailed, InvalidArgument

if TYPE_CHECKING:
    from lockgate.client import LockgateClient
    from lockgate.registry.entities import GateDecision, RuleResult

__all__ = ["models_app", "register"]

models_app = typer.Typer(
    help="Registered models: versions, aliases, stages, promotion gates and history; "
    "batch scoring and the scoring server.",
    no_args_is_help=True,
)
Alias = Annotated[str | None, typer.Option("--alias", "-a", help="Target alias, e.g. champion.")]
Stage = Annotated[str | None, typer.Option("--stage", "-s", help="Target stage: Staging, Production ...")]
ModelOption = Annotated[str, typer.Option(
    "--model-uri", "-m", help="Model: a path, runs:/<run_id>/<path> or models:/<name>@<alias>.")]


def register(app: typer.Typer) -> None:
    """Mount ``lockgate models``."""
    app.add_typer(models_app, name="models")


def _client(tracking_uri: str | None) -> LockgateClient:
    """The acting client; against a local database it may override a failing gate."""
    from lockgate import settings

    uri = tracking_uri or settings.tracking_uri()
    return get_client(uri, privileged=not settings.is_http_uri(uri))


def _tags(pairs: list[str] | None) -> dict[str, str]:
    tags = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"Invalid --tag {pair!r}: expected key=value")
        tags[key] = value
    return tags


def _verdict_table(title: str, results: list[RuleResult]) -> Table:
    from lockgate.registry.verdicts import VERDICT_COLUMNS, verdict_rows

    table = Table(title=title, title_justify="left")
    for column in VERDICT_COLUMNS:
        table.add_column(column, overflow="fold")
    for row in verdict_rows(results):
        verdict = "[green]pass[/]" if row["verdict"] == "pass" else "[bold red]FAIL[/]"
        table.add_row(escape(row["rule"]), verdict, escape(row["observed"]), escape(row["expected"]),
                      escape(row["message"]))
    return table


def _print_decision(decision: GateDecision, output: str) -> None:
    if output == "json":
        print_json(decision.model_dump(mode="json"))
        return
    target = str(decision.target) if decision.target else ""
    if decision.results:
        console.print(_verdict_table(f"Gate for {decision.model_name} {target}, version {decision.version}",
                                     decision.results))
    else:
        console.print(f"No gate guards {decision.model_name} {target}.")


# ------------------------------------------------------------------ models
@models_app.command("create")
@handle_errors
def create(
    name: str,
    description: DescriptionOption = None,
    tag: TagsOption = None,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Create a registered model."""
    check_output(output)
    client = _client(tracking_uri)
    model = client.create_registered_model(name, description=description, tags=_tags(tag))
    if output == "json":
        print_json(model.model_dump(mode="json"))
    else:
        console.print(f"Created registered model [bold]{model.name}[/].")


@models_app.command("list")
@models_app.command("search", hidden=True)
@handle_errors
def list_models(
    filter_string: Annotated[str | None, typer.Option("--filter", "-f", help="e.g. \"name LIKE 'churn%'\"")] = None,
    order_by: Annotated[list[str] | None, typer.Option("--order-by")] = None,
    max_results: MaxResultsOption = 100,
    page_token: PageTokenOption = None,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """List (search) registered models with MLflow's filter grammar."""
    from lockgate.registry.verdicts import format_value

    check_output(output)
    client = _client(tracking_uri)
    page = client.search_registered_models(filter_string=filter_string, max_results=max_results,
                                               order_by=order_by, page_token=page_token)
    if output == "json":
        print_json({"registered_models": [m.model_dump(mode="json") for m in page], "next_page_token": page.token})
        return
    table = Table()
    for column in ("name", "aliases", "latest versions", "tags", "updated"):
        table.add_column(column)
    for m in page:
        latest = ", ".join(f"{v.current_stage}:{v.version}" for v in m.latest_versions)
        table.add_row(m.name, format_value(m.aliases), latest, format_value(m.tags), fmt_time(m.last_updated_timestamp))
    console.print(table)
    if page.token:
        console.print(f"More results: --page-token {page.token}")


@models_app.command("versions")
@handle_errors
def versions(
    name: str,
    filter_string: Annotated[str | None, typer.Option("--filter", "-f", help="Extra conditions, ANDed.")] = None,
    max_results: MaxResultsOption = 100,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """List the versions of a registered model, newest first."""
    check_output(output)
    client = _client(tracking_uri)
    client.get_registered_model(name)
    from lockgate.search.grammar import quote_string

    where = f"name = {quote_string(name)}" + (f" AND {filter_string}" if filter_string else "")
    page = client.search_model_versions(filter_string=where, max_results=max_results)
    if output == "json":
        print_json([v.model_dump(mode="json") for v in page])
        return
    table = Table(title=name, title_justify="left")
    for column in ("version", "stage", "aliases", "status", "run_id", "source", "created", "by"):
        table.add_column(column, overflow="fold")
    for v in page:
        table.add_row(str(v.version), v.current_stage, ", ".join(v.aliases), v.status.value, v.run_id or "",
                      v.source, fmt_time(v.creation_timestamp), v.user_id)
    console.print(table)


@models_app.command("register")
@handle_errors
def register_version(
    name: str,
    source: Annotated[str, typer.Option("--source", help="runs:/<run_id>/<path> or an artifact URI.")],
    run_id: Annotated[str | None, typer.Option("--run-id")] = None,
    description: DescriptionOption = None,
    tag: TagsOption = None,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Register a new version of a model: every call makes a new version, as in MLflow."""
    check_output(output)
    client = _client(tracking_uri)
    mv = client.create_model_version(name, source=source, run_id=run_id, tags=_tags(tag),
                                         description=description)
    if output == "json":
        print_json(mv.model_dump(mode="json"))
    else:
        console.print(f"{name} version [bold]{mv.version}[/] -> {mv.storage_location}", soft_wrap=True)


# ------------------------------------------------------------------- gates
@models_app.command("set-gate")
@handle_errors
def set_gate(
    name: str,
    file: Annotated[Path, typer.Option("--file", "-f", help="Policy document, YAML or JSON.")],
    alias: Alias = None,
    stage: Stage = None,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Guard an alias or stage with the gate policy in FILE."""
    check_output(output)
    try:
        document = file.read_text()
    except OSError as exc:
        raise InvalidArgument(f"Cannot read policy file {str(file)!r}: {exc.strerror}") from None
    client = _client(tracking_uri)
    record = client.set_gate_policy(name, alias=alias, stage=stage, policy=document)
    if output == "json":
        print_json(record.model_dump(mode="json"))
    else:
        n = len(record.policy.get("rules", []))
        console.print(f"{name} {record.target} is guarded by policy version {record.policy_version} ({n} rules).")


@models_app.command("show-gate")
@handle_errors
def show_gate(
    name: str,
    alias: Alias = None,
    stage: Stage = None,
    policy_version: Annotated[int | None, typer.Option("--policy-version", help="An older version.")] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="yaml or json.")] = "yaml",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Print the gate policy guarding an alias or stage (a document set-gate accepts)."""
    if output not in ("yaml", "json"):
        raise typer.BadParameter(f"--output must be 'yaml' or 'json', not {output!r}.")
    client = _client(tracking_uri)
    record = client.get_gate_policy(name, alias=alias, stage=stage, policy_version=policy_version)
    if record is None:
        target = f"@{alias}" if alias else f"stage {stage}"
        err_console.print(f"No gate guards {name} {target}.")
        raise typer.Exit(1)
    if output == "json":
        print_json(record.model_dump(mode="json"))
        return
    import yaml

    sys.stdout.write(f"# {name} {record.target}, policy version {record.policy_version}, "
                     f"set by {record.created_by or '?'} at {fmt_time(record.created_at)}\n")
    sys.stdout.write(yaml.safe_dump(record.policy, sort_keys=False))


@models_app.command("promote")
@handle_errors
def promote(
    name: str,
    version: Annotated[str, typer.Option("--version", "-v", help="Version number to promote.")],
    alias: Alias = None,
    stage: Stage = None,
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why; kept in the audit trail.")] = None,
    override: Annotated[bool, typer.Option("--override", help="Force past a failing gate (needs --reason).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Evaluate the gate only; change nothing.")] = False,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Promote a version to an alias or stage; prints each rule's verdict, exits 1 if the gate fails."""
    check_output(output)
    client = _client(tracking_uri)
    if dry_run:
        decision = client.evaluate_gate(name, version=version, alias=alias, stage=stage)
        _print_decision(decision, output)
        if output == "table":
            console.print("Gate [green]passes[/]." if decision.passed else "Gate [bold red]fails[/].")
        raise typer.Exit(0 if decision.passed else 1)
    try:
        decision = client.promote(name, version=version, alias=alias, stage=stage, reason=reason,
                                      override=override)
    except GateFailed as exc:
        data = exc.details.get("decision", {})
        if output == "json":
            print_json(data)
        elif exc.results:
            target = f"@{alias}" if alias else f"stage {stage}"
            console.print(_verdict_table(f"Gate for {name} {target}, version {version}", exc.results))
        raise
    _print_decision(decision, output)
    if output == "table":
        if not decision.changed:
            console.print(f"Version {decision.version} already holds {decision.target}; nothing to do.")
        elif decision.overridden:
            console.print(f"[bold yellow]Overridden[/]: version {decision.version} now holds {decision.target}.")
        else:
            console.print(f"[green]Promoted[/] version {decision.version} to {decision.target}.")


@models_app.command("approve")
@handle_errors
def approve(
    name: str,
    version: Annotated[str, typer.Option("--version", "-v")],
    comment: Annotated[str | None, typer.Option("--comment", "-m")] = None,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Record your approval of a version (counted by RequireApprovals rules)."""
    client = _client(tracking_uri)
    event = client.approve_model_version(name, version, comment=comment)
    console.print(f"{event.actor} approved {name} version {event.version}.")


# ----------------------------------------------------------------- history
@models_app.command("history")
@handle_errors
def history(
    name: str,
    alias: Alias = None,
    stage: Stage = None,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Who moved which version where, when, why, and the gate's evidence."""
    from lockgate.registry.verdicts import format_value

    check_output(output)
    client = _client(tracking_uri)
    events = client.get_promotion_history(name, alias=alias, stage=stage)
    if output == "json":
        print_json([e.model_dump(mode="json") for e in events])
        return
    table = Table(title=f"Promotion history of {name}", title_justify="left")
    for column in ("id", "time", "event", "target", "from", "to", "actor", "gate", "reason"):
        table.add_column(column, overflow="fold")
    for e in events:
        target = f"@{e.alias}" if e.alias else (e.stage or "")
        gate = "-"
        if e.evidence is not None:
            gate = "passed" if e.evidence.get("passed") else "failed"
            failed = [r["rule"] for r in e.evidence.get("results", []) if not r.get("passed")]
            if failed:
                gate += ": " + "; ".join(failed)
        if e.override:
            gate = "[bold yellow]OVERRIDE[/] " + gate
        table.add_row(str(e.id), fmt_time(e.timestamp), e.type.value, target, format_value(e.from_version),
                      format_value(e.to_version), e.actor, gate, e.reason or "")
    console.print(table)


@models_app.command("events")
@handle_errors
def events(
    after_id: Annotated[int, typer.Option("--after-id", help="Only events with a larger id.")] = 0,
    model: Annotated[str | None, typer.Option("--model", help="Only this model's events.")] = None,
    event_type: Annotated[list[str] | None, typer.Option("--type", help="e.g. ALIAS_SET (repeatable).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 100,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """The registry's event log after an id, oldest first (what sensors poll)."""
    from lockgate.registry.verdicts import format_value

    check_output(output)
    client = _client(tracking_uri)
    found = client.get_events(after_id=after_id, model_name=model, types=event_type, limit=limit)
    if output == "json":
        print_json([e.model_dump(mode="json") for e in found])
        return
    table = Table()
    for column in ("id", "time", "event", "model", "version", "target", "actor", "details"):
        table.add_column(column, overflow="fold")
    for e in found:
        target = f"@{e.alias}" if e.alias else (e.stage or "")
        table.add_row(str(e.id), fmt_time(e.timestamp), e.type.value, e.model_name, format_value(e.version), target,
                      e.actor, format_value(e.details) if e.details else "")
    console.print(table)


@models_app.command("resolve")
@handle_errors
def resolve(uri: str, output: OutputOption = "table", tracking_uri: TrackingUriOption = None) -> None:
    """Print the version a models:/ URI points at and where its files are."""
    check_output(output)
    mv = _client(tracking_uri).resolve_model_uri(uri)
    if output == "json":
        print_json(mv.model_dump(mode="json"))
    else:
        console.print(f"{mv.name} version {mv.version}: {mv.storage_location}", highlight=False, soft_wrap=True)


# ----------------------------------------------------------------- serving
def _use_tracking_uri(tracking_uri: str | None) -> None:
    if tracking_uri:
        from lockgate import settings

        settings.set_tracking_uri(tracking_uri)


@models_app.command("predict")
@handle_errors
@requires_extra("models")
def predict(
    model_uri: ModelOption,
    input_path: Annotated[str, typer.Option("--input-path", "-i", help="CSV or Parquet file to score.")],
    output_path: Annotated[str, typer.Option("--output-path", "-o", help="CSV or Parquet file to write.")],
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Rows scored per chunk.")] = 100_000,
    output_column: Annotated[str, typer.Option("--output-column", help="Name of the prediction column.")] = "prediction",
    no_input: Annotated[bool, typer.Option("--no-input", help="Write only the predictions.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Score a CSV or Parquet file in chunks and write the rows with their predictions."""
    from lockgate.serving.batch import predict_batch

    _use_tracking_uri(tracking_uri)
    result = predict_batch(model_uri, input_path, output_path, chunk_size=chunk_size,
                           progress=not quiet, output_column=output_column,
                           include_input=not no_input)
    rate = result.rows / result.seconds if result.seconds else float("inf")
    console.print(f"Scored {result.rows:,} rows in {result.chunks} chunk(s), {result.seconds:.1f}s "
                  f"({rate:,.0f} rows/s) -> {result.output_path}", highlight=False)


@models_app.command("serve")
@handle_errors
@requires_extra("models", "server")
def serve(
    model_uri: ModelOption,
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = 5001,
    host: Annotated[str, typer.Option("--host", "-h", help="Interface to bind.")] = "127.0.0.1",
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "warning",
    follow: Annotated[bool, typer.Option(
        "--follow", help="Follow the alias of a models:/<name>@<alias> URI: load each new holder in "
        "the background, warm it up and swap with no dropped request.")] = False,
    poll_interval: Annotated[float, typer.Option(
        "--poll-interval", help="With --follow: seconds between reads of the registry's event log.")] = 1.0,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Serve a model: POST /invocations (MLflow's scoring protocol), GET /ping, /health, /version."""
    from lockgate.models.pyfunc import load_model
    from lockgate.serving.app import serve as serve_model
    from lockgate.serving.follow import ModelFollower

    _use_tracking_uri(tracking_uri)
    if follow:
        ModelFollower(model_uri, poll_interval=poll_interval)  # a URI without an alias fails here
    elif workers > 1:
        load_model(model_uri)  # fail here, with a clear error, before the workers start
    mode = " (following the alias)" if follow else ""
    console.print(f"Serving {model_uri}{mode} on http://{host}:{port}/invocations", highlight=False)
    serve_model(model_uri, host=host, port=port, workers=workers, log_level=log_level, follow=follow,
                poll_interval=poll_interval)
