"""``lockgate webhooks``: signed HTTP notifications of registry events.

``create`` subscribes a URL to event types (of one model, or of every model for admins),
``list`` shows subscriptions, ``test`` sends a signed ping now, ``deliveries`` shows the
delivery log (status, latency, the receiver's answer), ``delete`` removes one. Secrets are
given as the name of an environment variable on the server (``--secret-env``) and never
printed. Every command works through ``LockgateClient``'s public methods.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
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
)

__all__ = ["register", "webhooks_app"]

webhooks_app = typer.Typer(
    help="Webhooks: signed HTTP POSTs of registry events (promotions, gate refusals, aliases ...).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Mount ``lockgate webhooks``."""
    app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("create")
@handle_errors
def create(
    url: Annotated[str, typer.Option("--url", help="Where to POST (http:// or https://).")],
    events: Annotated[str, typer.Option(
        "--events", "-e", help="Comma-separated event types, e.g. model_version.promoted,gate.rejected.")],
    secret_env: Annotated[str | None, typer.Option(
        "--secret-env", help="Environment variable on the server holding the signing secret.")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Only this registered model's events (omit: every model; admins only).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name to recognise it by.")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Subscribe a URL to registry events; delivery starts with the next event."""
    check_output(output)
    hook = get_client(tracking_uri).create_webhook(url, events=events, model_name=model, name=name,
                                                   description=description, secret_env=secret_env)
    if output == "json":
        print_json(hook.model_dump(mode="json"))
        return
    console.print(f"Created webhook [bold]{hook.webhook_id}[/] → {escape(hook.url)} for {', '.join(hook.events)}"
                  f"{f' of {escape(hook.model_name)}' if hook.model_name else ' of every model'}")


@webhooks_app.command("list")
@handle_errors
def list_webhooks(
    model: Annotated[str | None, typer.Option("--model", "-m", help="Only this model's webhooks.")] = None,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """The webhooks you may manage (never their secrets)."""
    check_output(output)
    hooks = get_client(tracking_uri).list_webhooks(model_name=model)
    if output == "json":
        print_json([h.model_dump(mode="json") for h in hooks])
        return
    table = Table()
    for column in ("id", "name", "url", "events", "model", "status", "secret", "cursor"):
        table.add_column(column, overflow="fold")
    for h in hooks:
        table.add_row(h.webhook_id, escape(h.name), escape(h.url), ", ".join(h.events), escape(h.model_name or "*"),
                      h.status, h.secret_source, str(h.cursor))
    console.print(table)


@webhooks_app.command("test")
@handle_errors
def test(
    webhook_id: str,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Send a signed ``webhook.test`` ping now; exit status 1 if the receiver did not answer 2xx."""
    check_output(output)
    result = get_client(tracking_uri).test_webhook(webhook_id)
    if output == "json":
        print_json(result.model_dump(mode="json"))
    elif result.success:
        console.print(f"[green]OK[/] {result.status_code} in {result.latency_ms} ms")
    else:
        console.print(f"[red]FAILED[/] {escape(result.error or '')} ({result.latency_ms} ms)")
    if not result.success:
        raise typer.Exit(1)


@webhooks_app.command("deliveries")
@handle_errors
def deliveries(
    webhook_id: str,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many attempts, newest first.")] = 50,
    output: OutputOption = "table",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """The delivery log: every attempt's event, outcome, HTTP status, latency and answer."""
    check_output(output)
    attempts = get_client(tracking_uri).list_webhook_deliveries(webhook_id, limit=limit)
    if output == "json":
        print_json([a.model_dump(mode="json") for a in attempts])
        return
    table = Table(title=f"Deliveries of webhook {webhook_id}", title_justify="left")
    for column in ("time", "event", "type", "attempt", "outcome", "status", "ms", "error / answer", "delivery id"):
        table.add_column(column, overflow="fold")
    for a in attempts:
        colour = {"SUCCEEDED": "green", "RETRYING": "yellow"}.get(a.outcome, "red")
        table.add_row(fmt_time(a.time), str(a.event_id or "-"), a.event_type, str(a.attempt),
                      f"[{colour}]{a.outcome}[/]", str(a.status_code or "-"), str(a.latency_ms),
                      escape((a.error or a.response_snippet or "")[:120]), a.delivery_id)
    console.print(table)


@webhooks_app.command("delete")
@handle_errors
def delete(webhook_id: str, tracking_uri: TrackingUriOption = None) -> None:
    """Delete a webhook and its delivery log; pending retries stop."""
    get_client(tracking_uri).delete_webhook(webhook_id)
    console.print(f"Deleted webhook {webhook_id}")
