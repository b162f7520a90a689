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

from lockgate.cli.common import BackendStoreUriOption, handle_errors
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


# Unknown arguments reach the command, which names an `mlflow server` flag it does not support.
CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def register(app: typer.Typer) -> None:
    """Mount ``lockgate server``."""
    app.command("server", context_settings=CONTEXT_SETTINGS)(server_command)


@handle_errors
@requires_extra("server")
def server_command(
    ctx: typer.Context,
    backend_store_uri: BackendStoreUriOption = None,
    artifacts_destination: Annotated[
        str | None,
        typer.Option(help="Where proxied artifacts are stored: a directory or s3://bucket/prefix "
                     "(default: LOCKGATE_HOME/artifacts)."),
    ] = None,
    default_artifact_root: Annotated[
        str | None,
        typer.Option(help="mlflow server's flag: with --no-serve-artifacts, where new experiments keep "
                     "their artifacts (clients write there directly). With --serve-artifacts only "
                     "mlflow-artifacts:/ is accepted; use --artifacts-destination for the storage."),
    ] = None,
    serve_artifacts: Annotated[
        bool,
        typer.Option("--serve-artifacts/--no-serve-artifacts",
                     help="Proxy artifact uploads and downloads (experiments get mlflow-artifacts:/ locations)."),
    ] = True,
    host: Annotated[
        str, typer.Option("--host", "-h", help="Address to bind; anything but loopback turns auth on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="Port to listen on.")] = 5000,
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, help="Worker processes (use PostgreSQL for more than one).")
    ] = 1,
    app_name: Annotated[
        str | None,
        typer.Option(help="mlflow server's flag: 'basic-auth' turns on Lockgate's auth (users and tokens "
                     "from `lockgate users`, not MLflow's basic_auth.ini)."),
    ] = None,
    dev: Annotated[bool, typer.Option("--dev", help="mlflow server's flag: debug logging.")] = False,
    auth: Annotated[
        bool | None,
        typer.Option("--auth/--no-auth",
                     help="Require credentials. Default: off on loopback, on for any other bind address."),
    ] = None,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request with its time.")] = True,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    max_request_bytes: Annotated[
        int | None,
        typer.Option(min=1024, help="Largest request body (JSON APIs) in bytes; larger ones get 413. "
                     "Default 32 MiB (env LOCKGATE_SERVER_MAX_REQUEST_BYTES)."),
    ] = None,
    max_upload_bytes: Annotated[
        int | None,
        typer.Option(min=1, help="Largest artifact upload in bytes. Default: unlimited, streamed "
                     "(env LOCKGATE_SERVER_MAX_UPLOAD_BYTES)."),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(min=2, help="Open connections per worker; past it the oldest idle ones are closed. "
                     "Default 1000, lowered to fit the open-file limit (env LOCKGATE_SERVER_MAX_CONNECTIONS)."),
    ] = None,
    keep_alive: Annotated[
        float | None,
        typer.Option(min=0.1, help="Seconds a connection may sit idle before or between requests. "
                     "Default 5 (env LOCKGATE_SERVER_KEEP_ALIVE)."),
    ] = None,
) -> None:
    """Start the tracking server: Lockgate's API and MLflow's REST API on one port.

    Takes `mlflow server`'s flags where they mean something here; the others stop the
    command with a message naming the flag.
    """
    from lockgate.cli.mlflow_flags import unsupported_flag_message

    problem = unsupported_flag_message(ctx.args)
    if problem is not None:
        raise typer.BadParameter(problem)
    if app_name is not None:
        if app_name != "basic-auth":
            raise typer.BadParameter(f"{app_name!r}: the only app is 'basic-auth' (Lockgate's auth).",
                                     param_hint="--app-name")
        if auth is False:
            raise typer.BadParameter("--app-name basic-auth turns auth on; drop --no-auth.", param_hint="--app-name")
        auth = True
    if dev:
        log_level = "debug"
    artifacts_destination = _artifact_storage(default_artifact_root, artifacts_destination, serve_artifacts)
    from lockgate.server.startup import enable_bytecode_cache

    enable_bytecode_cache()
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
    limits = _limits_from_options(max_request_bytes, max_upload_bytes, max_connections, keep_alive)
    os.environ.update(limits.to_env())
    if use_auth:
        # Fail before binding when the auth tables cannot be reached or there is no way to log in.
        from lockgate.server.auth.store import check_auth_ready

        check_auth_ready(uri)

    import uvicorn

    from lockgate.server.connections import (
        effective_max_connections,
        protocol_path,
        raise_open_file_limit,
    )

    # Workers inherit the raised limit; connections are capped below it so a flood of idle
    # sockets can never take the handles the database and artifact files need.
    cap = effective_max_connections(limits.max_connections, open_files=raise_open_file_limit())
    from lockgate.server.startup import PRELOADED_FACTORY, preload_workers

    if workers > 1:
        preload_workers()
    uvicorn.run(
        PRELOADED_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=_log_config(access_log, log_level),
        log_level=log_level.lower(),
        server_header=False,
        http=protocol_path(),
        # No WebSocket endpoint here: "auto" would import the websockets package at every start.
        ws="none",
        timeout_keep_alive=max(1, round(limits.keep_alive)),
        # uvicorn's own 503 shedding counts connections too; the protocol keeps those under
        # ``cap``, so this only bounds requests in flight.
        limit_concurrency=cap + 1,
        backlog=limits.backlog,
    )


def _artifact_storage(default_root: str | None, destination: str | None, serve: bool) -> str | None:
    """Where artifacts live, from MLflow's pair of flags (see the options' help)."""
    if default_root is None:
        return destination
    if serve:
        if default_root.rstrip("/") != "mlflow-artifacts:":
            raise typer.BadParameter(
                f"{default_root!r} with --serve-artifacts: Lockgate proxies every artifact, so experiments "
                "always get mlflow-artifacts:/ locations. Pass the storage as --artifacts-destination, "
                "or add --no-serve-artifacts to have clients write there directly.",
                param_hint="--default-artifact-root",
            )
        return destination
    if destination is not None and destination != default_root:
        raise typer.BadParameter(
            "--no-serve-artifacts stores artifacts where experiments point: give either "
            "--default-artifact-root or --artifacts-destination, not two different places.",
            param_hint="--default-artifact-root",
        )
    return default_root


def _limits_from_options(max_request_bytes: int | None, max_upload_bytes: int | None,
                         max_connections: int | None, keep_alive: float | None) -> Any:
    from dataclasses import replace

    from lockgate.server.limits import ServerLimits

    limits = ServerLimits.from_env()
    changes: dict[str, Any] = {}
    if max_request_bytes is not None:
        changes["max_request_bytes"] = max_request_bytes
    if max_upload_bytes is not None:
        changes["max_upload_bytes"] = max_upload_bytes
    if max_connections is not None:
        changes["max_connections"] = max_connections
    if keep_alive is not None:
        changes["keep_alive"] = keep_alive
    return replace(limits, **changes)


def main() -> None:
    """``python -m lockgate.cli.server``: the command without the rest of the CLI."""
    app = typer.Typer(add_completion=False)
    register(app)
    app()


if __name__ == "__main__":
    main()
