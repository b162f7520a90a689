"""Optional extras of the ``lockgate`` distribution, and the message a command prints when one
is missing: ``lockgate server needs the server extra: pip install 'lockgate[server]'``.

``requires_extra("server")`` on a command checks that the extra's modules are installed before
the command does any work (it finds them without importing them: ``lockgate server`` sets up its
bytecode cache before the heavy imports); ``handle_errors`` maps any other missing module of a
known extra, including one an installed package fails to import, to the same line.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["EXTRA_MODULES", "extra_of", "missing_extra_message", "requires_extra"]

F = TypeVar("F", bound=Callable[..., Any])

# extra (pyproject.toml [project.optional-dependencies]) -> the import names of its packages.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "server": ("fastapi", "uvicorn", "bcrypt", "orjson"),
    "models": ("pandas", "numpy", "pyarrow", "cloudpickle"),
    "sklearn": ("sklearn",),
    "postgres": ("psycopg",),
    "mysql": ("pymysql",),
    "s3": ("s3fs",),
    "xgboost": ("xgboost",),
    "lightgbm": ("lightgbm",),
    "onnx": ("onnx", "onnxruntime"),
    "spark": ("pyspark",),
    "dask": ("dask", "distributed"),
}


def extra_of(module: str) -> str | None:
    """The extra that installs ``module`` (top-level name), or None."""
    top = module.split(".", 1)[0]
    return next((extra for extra, modules in EXTRA_MODULES.items() if top in modules), None)


def _command_path() -> str:
    """``lockgate models serve``: the running command, or ``lockgate`` outside one."""
    import importlib

    try:  # Typer >= 0.2x runs its own copy of click; older releases use click itself.
        globals_ = importlib.import_module("typer._click.globals")
    except ImportError:  # pragma: no cover - depends on the installed Typer
        globals_ = importlib.import_module("click.globals")
    context = globals_.get_current_context(silent=True)
    return str(context.command_path) if context is not None else "lockgate"


def missing_extra_message(module: str, *, extra: str | None = None) -> str:
    """``<command> needs the <extra> extra: pip install 'lockgate[<extra>]'`` for ``module``."""
    extra = extra or extra_of(module)
    if extra is None:
        return f"{_command_path()} needs the Python module {module!r}, which is not installed."
    return f"{_command_path()} needs the {extra} extra: pip install 'lockgate[{extra}]'"


def requires_extra(*extras: str) -> Callable[[F], F]:
    """Check that ``extras`` are installed before the command runs; one clear line if not."""
    unknown = [e for e in extras if e not in EXTRA_MODULES]
    if unknown:
        raise ValueError(f"Unknown lockgate extra(s): {unknown}")

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            import typer

            for extra in extras:
                for module in EXTRA_MODULES[extra]:
                    try:
                        missing = importlib.util.find_spec(module) is None
                    except ImportError:
                        missing = True
                    if missing:
                        typer.echo(missing_extra_message(module, extra=extra), err=True)
                        raise typer.Exit(1)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
