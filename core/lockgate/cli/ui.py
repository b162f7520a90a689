"""``lockgate ui``: the web UI on the embedded default store, like ``mlflow ui``.

It is ``lockgate server`` bound to 127.0.0.1 (auth off) over the local tracking database
(``LOCKGATE_HOME/lockgate.db`` unless the tracking URI names another database) and the
local artifact root, so runs logged without a server show up with their artifacts.
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["register", "ui_command", "ui_url"]


def ui_url(host: str, port: int) -> str:
    """The address to open in a browser for a server bound to ``host:port``."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def register(app: typer.Typer) -> None:
    """Mount ``lockgate ui``."""
    app.command("ui")(ui_command)


def ui_command(
    ctx: typer.Context,
    backend_store_uri: Annotated[
        str | None,
        typer.Option(help="Database to show (default: the tracking URI when it is a database, else "
                     "the embedded SQLite file under LOCKGATE_HOME)."),
    ] = None,
    artifacts_destination: Annotated[
        str | None, typer.Option(help="Artifact root (default: LOCKGATE_HOME/artifacts).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind (loopback: no auth).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 5000,
) -> None:
    """Open Lockgate's web UI on the local tracking data; prints the URL to visit."""
    from lockgate import settings
    from lockgate.cli.server import is_loopback, server_command

    uri = backend_store_uri or settings.tracking_uri()
    if settings.is_http_uri(uri):
        uri = f"sqlite:///{settings.home_dir() / 'lockgate.db'}"
    if not is_loopback(host):
        raise typer.BadParameter("`lockgate ui` serves without auth, so only on loopback; use "
                                 "`lockgate server` for a team server.", param_hint="--host")
    typer.echo(f"Lockgate UI: {ui_url(host, port)}  (data: {uri}; Ctrl-C stops it)")
    server_command(
        ctx,  # `lockgate ui` takes no extra arguments, so no mlflow-only flags reach the check
        backend_store_uri=uri,
        artifacts_destination=artifacts_destination or settings.default_artifact_root(),
        serve_artifacts=True,
        host=host,
        port=port,
        workers=1,
        auth=False,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    typer.run(ui_command)
