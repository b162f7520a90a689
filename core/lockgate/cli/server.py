"""``lockgate server``: start the tracking server (needs the ``server`` extra).

Importing this module is cheap; FastAPI and uvicorn load only when the command runs, and
without them the command says which extra to install. ``python -m lockgate.cli.server``
runs this command alone.
"""

from __future__ import annotations

import copy
import ipaddress
import os
from typing import Annotated, Any

import typer

from lockgate.cli.common import handle_errors
from lockgate.cli.extras import requires_extra

__all__ = ["is_loopback", "main", "register", "server_command"]

_LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _log_config(access_log: bool, level: str) -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["lockgate.server"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    config["loggers"]["lockgate.server.access"] = {
        "handlers": ["default"],
        "level": "INFO" if access_log else "WARNING",
        "propagate": False,
    }
    return config


def register(app: typer.Typer) -> None:
    """Mount ``lockgate server``."""
    app.command("server")(server_command)


@handle_errors
@requires_extra("server")
def server_command(
    backend_store_uri: Annotated[
        str | None,
        typer.Option(help="Database for tracking and registry data (default: the tracking URI, i.e. SQLite "
                     "under LOCKGATE_HOME). Example: postgresql+psycopg://user@db/lockgate"),
    ] = None,
    artifacts_destination: Annotated[
        str | None,
        typer.Option(help="Where proxied artifacts are stored: a directory or s3://bucket/prefix "
                     "(default: LOCKGATE_HOME/artifacts)."),
    ] = None,
    serve_artifacts: Annotated[
        bool,
        typer.Option("--serve-artifacts/--no-serve-artifacts",
                     help="Proxy artifact uploads and downloads (experiments get mlflow-artifacts:/ locations)."),
    ] = True,
    host: Annotated[str, typer.Option(help="Address to bind; anything but loopback turns auth on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 5000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (use PostgreSQL for more than one).")] = 1,
    auth: Annotated[
        bool | None,
        typer.Option("--auth/--no-auth",
                     help="Require credentials. Default: off on loopback, on for any other bind address."),
    ] = None,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request with its time.")] = True,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Start the tracking server: Lockgate's API and MLflow's REST API on one port."""
    from lockgate import settings
    from lockgate.server import app as server_app

    uri = backend_store_uri or settings.tracking_uri()
    if settings.is_http_uri(uri):
        raise typer.BadParameter(
            f"The tracking URI is a server ({uri}); pass --backend-store-uri with a database URI.",
            param_hint="--backend-store-uri",
        )
    if workers > 1 and uri.startswith("sqlite"):
        typer.secho(
            "Several workers on SQLite queue every write on one file lock; use PostgreSQL to scale out.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    use_auth = (not is_loopback(host)) if auth is None else auth
    if not use_auth and not is_loopback(host):
        typer.secho(f"WARNING: auth is disabled and the server listens on {host}.", fg=typer.colors.RED, err=True)

    os.environ[server_app.ENV_BACKEND] = uri
    os.environ[server_app.ENV_ARTIFACTS] = artifacts_destination or settings.default_artifact_root()
    os.environ[server_app.ENV_SERVE_ARTIFACTS] = "1" if serve_artifacts else "0"
    os.environ[server_app.ENV_AUTH] = "1" if use_auth else "0"
    if use_auth:
        # Fail before binding when the auth tables cannot be reached or there is no way to log in.
        from lockgate.server.auth.store import check_auth_ready

        check_auth_ready(uri)

    import uvicorn

    uvicorn.run(
        "lockgate.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=_log_config(access_log, log_level),
        log_level=log_level.lower(),
        server_header=False,
    )


def main() -> None:
    """``python -m lockgate.cli.server``: the command without the rest of the CLI."""
    typer.run(server_command)


if __name__ == "__main__":
    main()
