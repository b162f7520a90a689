"""Entry-point parameters checked against their declared types, and the command they fill in."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lockgate.errors import InvalidArgument, NotFound
from lockgate.projects.spec import EntryPoint

__all__ = ["build_command", "resolve_parameters"]


def _check(name: str, kind: str, value: Any, *, cwd: Path) -> str:
    text = str(value)
    if kind == "float":
        try:
            float(text)
        except ValueError:
            raise InvalidArgument(f"Parameter {name!r} = {text!r} is not a float.") from None
    elif kind == "int":
        try:
            int(text)
        except ValueError:
            raise InvalidArgument(f"Parameter {name!r} = {text!r} is not an int.") from None
    elif kind == "path":
        parsed = urlparse(text)
        if parsed.scheme not in ("", "file") and len(parsed.scheme) > 1:
            raise InvalidArgument(f"Parameter {name!r} = {text!r}: a path parameter must be a local "
                                  "file; remote URIs are not downloaded (use type uri).")
        local = Path(parsed.path if parsed.scheme == "file" else text).expanduser()
        local = local if local.is_absolute() else cwd / local
        if not local.exists():
            raise NotFound(f"Parameter {name!r} = {text!r}: path {str(local)!r} does not exist.")
        return str(local.resolve())
    elif kind == "uri":
        parsed = urlparse(text)
        if parsed.scheme in ("", "file") or len(parsed.scheme) == 1:  # local (a: is a drive)
            local = Path(parsed.path if parsed.scheme == "file" else text).expanduser()
            return str(local if local.is_absolute() else (cwd / local).resolve())
    return text


def resolve_parameters(entry: EntryPoint, given: Mapping[str, Any], *,
                       cwd: Path | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(declared, extra): declared parameters checked and defaulted; the rest passed on as given.

    ``path`` values must exist and become absolute (relative to ``cwd``, default the current
    directory); ``uri`` values that are local become absolute. Fails before anything runs.
    """
    cwd = cwd or Path.cwd()
    declared: dict[str, str] = {}
    missing: list[str] = []
    for name, param in entry.parameters.items():
        if name in given and given[name] is not None:
            declared[name] = _check(name, param.type, given[name], cwd=cwd)
        elif param.default is not None:
            # Defaults are relative to the project, not to where the user stands.
            declared[name] = str(param.default) if param.type in ("path", "uri") else _check(
                name, param.type, param.default, cwd=cwd)
        else:
            missing.append(name)
    if missing:
        raise InvalidArgument(
            f"Entry point {entry.name!r} needs parameter(s) {', '.join(repr(m) for m in missing)}: "
            "pass them with -P name=value."
        )
    extra = {str(k): str(v) for k, v in given.items() if k not in entry.parameters}
    return declared, extra


def build_command(entry: EntryPoint, declared: Mapping[str, str], extra: Mapping[str, str]) -> str:
    """The shell command: the template filled with quoted values, extras appended as ``--k v``."""
    quoted = {k: shlex.quote(v) for k, v in declared.items()}
    try:
        command = entry.command.format(**quoted)
    except (KeyError, IndexError) as exc:
        raise InvalidArgument(f"Entry point {entry.name!r}: its command uses {{{exc.args[0]}}}, "
                              "which is not a declared parameter.") from None
    tail = " ".join(f"--{shlex.quote(k)} {shlex.quote(v)}" for k, v in extra.items())
    return f"{command} {tail}".strip()
