"""``lockgate users``: manage the tracking server's users, API tokens and permissions.

It works on the server's database directly (run it where that database is reachable), so
the first admin can be created before the server ever starts.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from lockgate.cli.common import BackendStoreUriOption, handle_errors
from lockgate.cli.extras import requires_extra
from lockgate.errors import InvalidArgument

__all__ = ["register", "users_app"]

users_app = typer.Typer(
    help="Users, API tokens and permissions of the tracking server (auth).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Mount ``lockgate users``."""
    app.add_typer(users_app, name="users")


def _store(uri: str | None) -> Any:
    from lockgate import settings
    from lockgate.server.auth.store import AuthStore

    uri = uri or settings.tracking_uri()
    if settings.is_http_uri(uri):
        raise InvalidArgument("`lockgate users` works on the server's database; pass --backend-store-uri.")
    return AuthStore(uri)


def _resource(experiment: str | None, model: str | None) -> tuple[str, str]:
    if bool(experiment) == bool(model):
        raise InvalidArgument("Name exactly one of --experiment ID or --model NAME.")
    return ("experiment", str(experiment)) if experiment else ("registered_model", str(model))


@users_app.command("create")
@handle_errors
@requires_extra("server")
def create_user(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="At least 8 characters (prompted when omitted).")],
    admin: Annotated[bool, typer.Option("--admin", help="Admins may do everything, incl. gate overrides.")] = False,
    backend_store_uri: BackendStoreUriOption = None,
) -> None:
    """Create a user with a bcrypt-hashed password."""
    user = _store(backend_store_uri).create_user(username, password, admin=admin)
    typer.echo(f"Created {'admin' if user.is_admin else 'user'} {user.name!r}.")


@users_app.command("list")
@handle_errors
def list_users(backend_store_uri: BackendStoreUriOption = None) -> None:
    """List users (name and admin flag) as JSON."""
    users = _store(backend_store_uri).list_users()
    sys.stdout.write(json.dumps([{"username": u.name, "admin": u.is_admin} for u in users], indent=2) + "\n")


@users_app.command("delete")
@handle_errors
def delete_user(username: str, backend_store_uri: BackendStoreUriOption = None) -> None:
    """Delete a user with their tokens and permissions."""
    _store(backend_store_uri).delete_user(username)
    typer.echo(f"Deleted user {username!r}.")


@users_app.command("set-password")
@handle_errors
@requires_extra("server")
def set_password(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    backend_store_uri: BackendStoreUriOption = None,
) -> None:
    """Change a user's password."""
    _store(backend_store_uri).set_password(username, password)
    typer.echo(f"Password of {username!r} changed.")


@users_app.command("set-admin")
@handle_errors
def set_admin(
    username: str,
    admin: Annotated[bool, typer.Option("--admin/--no-admin")] = True,
    backend_store_uri: BackendStoreUriOption = None,
) -> None:
    """Make a user an admin (or not)."""
    _store(backend_store_uri).set_admin(username, admin)
    typer.echo(f"{username!r} is {'now' if admin else 'no longer'} an admin.")


@users_app.command("grant")
@handle_errors
def grant(
    username: str,
    permission: Annotated[str, typer.Option(help="READ, EDIT or MANAGE.")],
    experiment: Annotated[str | None, typer.Option(help="Experiment id.")] = None,
    model: Annotated[str | None, typer.Option(help="Registered model name.")] = None,
    backend_store_uri: BackendStoreUriOption = None,
) -> None:
    """Give a user READ, EDIT or MANAGE on one experiment or registered model."""
    rtype, rid = _resource(experiment, model)
    _store(backend_store_uri).grant(username, rtype, rid, permission)
    typer.echo(f"{username!r} has {permission.upper()} on {rtype.replace('_', ' ')} {rid!r}.")


@users_app.command("revoke")
@handle_errors
def revoke(
    username: str,
    experiment: Annotated[str | None, typer.Option(help="Experiment id.")] = None,
    model: Annotated[str | None, typer.Option(help="Registered model name.")] = None,
    backend_store_uri: BackendStoreUriOption = None,
) -> None:
    """Remove a user's permission on one experiment or registered model."""
    rtype, rid = _resource(experiment, model)
    _store(backend_store_uri).revoke(username, rtype, rid)
    typer.echo(f"Revoked {username!r}'s permission on {rtype.replace('_', ' ')} {rid!r}.")


@users_app.command("permissions")
@handle_errors
def permissions(username: str, backend_store_uri: BackendStoreUriOption = None) -> None:
    """List a user's grants as JSON."""
    sys.stdout.write(json.dumps(_store(backend_store_uri).list_permissions(username), indent=2) + "\n")


@users_app.command("create-token")
@handle_errors
def create_token(
    username: str,
    name: Annotated[str, typer.Option(help="A label to recognize the token by.")] = "default",
    expires_in_days: Annotated[float | None, typer.Option(min=0, help="Lifetime; default: never expires.")] = None,
    backend_store_uri: BackendStoreUriOption = None,
) -> None:
    """Create an API token (printed once; use it as MLFLOW_TRACKING_TOKEN or LOCKGATE_TRACKING_TOKEN)."""
    seconds = int(expires_in_days * 86400) if expires_in_days is not None else None
    typer.echo(_store(backend_store_uri).create_token(username, name=name, expires_in_s=seconds))


@users_app.command("tokens")
@handle_errors
def tokens(username: Annotated[str | None, typer.Argument()] = None, backend_store_uri: BackendStoreUriOption = None) -> None:
    """List API tokens (ids, owners, names, expiry; never the secrets) as JSON."""
    infos = _store(backend_store_uri).list_tokens(username)
    sys.stdout.write(json.dumps([t.__dict__ for t in infos], indent=2) + "\n")


@users_app.command("revoke-token")
@handle_errors
def revoke_token(token_id: int, backend_store_uri: BackendStoreUriOption = None) -> None:
    """Revoke an API token by id."""
    _store(backend_store_uri).revoke_token(token_id)
    typer.echo(f"Revoked token {token_id}.")
