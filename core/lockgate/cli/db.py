"""``lockgate db``: the tracking database's schema (Alembic migrations)."""

from __future__ import annotations

from typing import Annotated

import typer

from lockgate.cli.common import TrackingUriOption, console, handle_errors

__all__ = ["db_app", "register"]

db_app = typer.Typer(help="Database schema upkeep (Alembic migrations).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Mount ``lockgate db``."""
    app.add_typer(db_app, name="db")


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
