"""The root ``lockgate`` Typer app, built from the noun modules listed in ``NOUNS``."""

from __future__ import annotations

from types import ModuleType

import typer

from lockgate.cli import (
    db,
    experiments,
    gc,
    importing,
    models,
    projects,
    runs,
    server,
    ui,
    users,
    webhooks,
)

__all__ = ["NOUNS", "build_app"]

# Order is the order of `lockgate --help`. A new noun: a module with register(app), listed here.
NOUNS: tuple[ModuleType, ...] = (runs, experiments, models, webhooks, projects, server, ui, users, db, gc, importing)


def build_app() -> typer.Typer:
    """A fresh ``lockgate`` app with every noun's commands registered."""
    app = typer.Typer(
        name="lockgate",
        help="Lockgate: experiment tracking, models, a gated model registry and serving.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for noun in NOUNS:
        noun.register(app)
    return app
