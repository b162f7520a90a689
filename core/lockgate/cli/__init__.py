"""The ``lockgate`` command line: one module per noun, registered explicitly.

``lockgate <noun> <verb>``: ``runs``, ``experiments``, ``models`` (registry, ``predict``,
``serve``), ``server``, ``users``, ``db`` and ``gc`` each live in a module of this package.
Every command works through ``LockgateClient``'s public API; errors print as one red line and
exit 1 (2 for usage errors), never a traceback; times print in one format (``fmt_time``: UTC,
ISO 8601 with ``Z``).

Adding a noun (``lockgate ui``, ``lockgate import``, ``lockgate run``, ``lockgate webhooks``):

1. Create ``lockgate/cli/<noun>.py``. Import only typer, rich and ``lockgate.cli.common`` at
   the top; import what the commands need (FastAPI, pandas, the store ...) inside them, so
   ``lockgate --help`` works on a bare ``pip install lockgate``.
2. Define a Typer group (``ui_app = typer.Typer(help=..., no_args_is_help=True)``) with
   ``@ui_app.command("verb")`` commands, or a single command function.
3. Decorate each command with ``@handle_errors`` (from ``lockgate.cli.common``) and, when it
   needs an optional extra, ``@requires_extra("server")`` (from ``lockgate.cli.extras``) below
   it: a missing extra then prints ``lockgate ui needs the server extra: pip install
   'lockgate[server]'`` and exits 1.
4. Give the module ``register(app: typer.Typer) -> None`` that mounts it:
   ``app.add_typer(ui_app, name="ui")`` or ``app.command("ui")(ui_command)``.
5. Add the module to ``NOUNS`` in ``lockgate/cli/root.py``. Nothing is mounted by import side
   effects, and no ImportError is swallowed.

Use ``TrackingUriOption`` and ``OutputOption`` for ``--tracking-uri`` and ``-o table|json``,
``get_client()`` for the client, ``print_json`` for machine output and ``fmt_time`` for times.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]

_app: typer.Typer | None = None


def _root() -> typer.Typer:
    global _app
    if _app is None:
        from lockgate.cli.root import build_app

        _app = build_app()
    return _app


def __getattr__(name: str) -> Any:
    if name == "app":
        return _root()
    raise AttributeError(f"module 'lockgate.cli' has no attribute {name!r}")


def main() -> None:
    """Entry point of the ``lockgate`` console script."""
    import sys

    if sys.argv[1:2] == ["server"]:
        # Before Typer, Rich and every command module load: without a bytecode cache they are
        # compiled from source at every start, and the collector would walk every object the
        # start creates again and again (lockgate.server.startup).
        from lockgate.server.startup import enable_bytecode_cache, hold_gc

        hold_gc()
        enable_bytecode_cache()
    _root()(prog_name="lockgate")
