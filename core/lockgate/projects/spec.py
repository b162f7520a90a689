"""The project file: MLflow's ``MLproject`` read as MLflow defines it, into typed values."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lockgate.errors import InvalidArgument, NotFound

__all__ = ["PARAMETER_TYPES", "EntryPoint", "EnvSpec", "Parameter", "Project", "load_project"]

PARAMETER_TYPES = ("string", "float", "int", "path", "uri")


@dataclass(frozen=True)
class Parameter:
    """One declared entry-point parameter: its type and (optional) default."""

    name: str
    type: str = "string"
    default: Any = None

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class EntryPoint:
    """A named command template with its declared parameters."""

    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)
    # Entry points made from a bare .py/.sh file take every parameter as ``--key value``.
    from_file: bool = False


@dataclass(frozen=True)
class EnvSpec:
    """The environment a project declares: kind (python, conda, docker, none) and its source."""

    kind: str
    path: Path | None = None
    image: str | None = None
    docker: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Project:
    """A project folder with its name, environment and entry points."""

    directory: Path
    name: str
    env: EnvSpec
    entry_points: dict[str, EntryPoint]

    def entry_point(self, name: str) -> EntryPoint:
        """The named entry point, or one made from a ``.py``/``.sh`` file of that name."""
        if name in self.entry_points:
            return self.entry_points[name]
        target = self.directory / name
        if name.endswith((".py", ".sh")) and target.is_file() and _inside(target, self.directory):
            runner = "python" if name.endswith(".py") else "bash"
            return EntryPoint(name=name, command=f"{runner} {_quote(name)}", from_file=True)
        known = ", ".join(sorted(self.entry_points)) or "none"
        raise NotFound(
            f"Project {self.name!r} has no entry point {name!r} (declared: {known}; a .py or .sh "
            "file in the project folder can also be named)."
        )


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _project_file(directory: Path) -> Path | None:
    for child in directory.iterdir() if directory.is_dir() else ():
        if child.name.lower() == "mlproject" and child.is_file():
            return child
    return None


def _parameter(entry: str, name: str, raw: Any) -> Parameter:
    if isinstance(raw, str):
        kind, default = raw, None
    elif isinstance(raw, dict):
        kind, default = str(raw.get("type", "string")), raw.get("default")
    elif raw is None:
        kind, default = "string", None
    else:
        raise InvalidArgument(f"MLproject: parameter {name!r} of entry point {entry!r} must be a "
                              f"type name or a mapping with type/default, not {raw!r}.")
    if kind not in PARAMETER_TYPES:
        raise InvalidArgument(f"MLproject: parameter {name!r} of entry point {entry!r} has type "
                              f"{kind!r}; expected one of {', '.join(PARAMETER_TYPES)}.")
    return Parameter(name=name, type=kind, default=default)


def _env(directory: Path, data: dict[str, Any]) -> EnvSpec:
    declared = [key for key in ("python_env", "conda_env", "docker_env") if key in data]
    if len(declared) > 1:
        raise InvalidArgument(f"MLproject declares {' and '.join(declared)}; use only one.")
    if "docker_env" in data:
        docker = data["docker_env"] or {}
        if not isinstance(docker, dict) or not docker.get("image"):
            raise InvalidArgument("MLproject: docker_env needs an image, e.g. docker_env: {image: python:3.11}.")
        return EnvSpec(kind="docker", image=str(docker["image"]), docker=docker)
    for key, kind in (("python_env", "python"), ("conda_env", "conda")):
        if key in data:
            path = directory / str(data[key])
            if not path.is_file() or not _inside(path, directory):
                raise NotFound(f"MLproject: {key} file {data[key]!r} is not in the project folder.")
            return EnvSpec(kind=kind, path=path)
    # Without a declaration, the files MLflow and uv users keep next to their code.
    for name, kind in (("python_env.yaml", "python"), ("requirements.txt", "requirements"),
                       ("pyproject.toml", "pyproject"), ("conda.yaml", "conda")):
        if (directory / name).is_file():
            return EnvSpec(kind=kind, path=directory / name)
    return EnvSpec(kind="none")


def load_project(directory: str | Path) -> Project:
    """The project in ``directory``: its MLproject file, or the folder's .py/.sh files alone."""
    directory = Path(directory).resolve()
    if not directory.is_dir():
        raise NotFound(f"Project folder {str(directory)!r} does not exist.")
    file = _project_file(directory)
    if file is None:
        scripts = sorted(p.name for p in directory.iterdir() if p.suffix in (".py", ".sh"))
        if not scripts:
            raise NotFound(f"{str(directory)!r} is not a project: it has no MLproject file and no "
                           ".py or .sh file to run as an entry point.")
        return Project(directory=directory, name=directory.name, env=_env(directory, {}),
                       entry_points={})
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"{file}: not valid YAML ({exc}).") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"{file}: expected a mapping with name, entry_points ...")
    entries: dict[str, EntryPoint] = {}
    raw_entries = data.get("entry_points") or {}
    if not isinstance(raw_entries, dict):
        raise InvalidArgument(f"{file}: entry_points must be a mapping of name -> command.")
    for name, raw in raw_entries.items():
        if not isinstance(raw, dict) or not isinstance(raw.get("command"), str):
            raise InvalidArgument(f"MLproject: entry point {name!r} needs a command.")
        params = {str(k): _parameter(str(name), str(k), v)
                  for k, v in (raw.get("parameters") or {}).items()}
        entries[str(name)] = EntryPoint(name=str(name), command=raw["command"], parameters=params)
    return Project(directory=directory, name=str(data.get("name") or directory.name),
                   env=_env(directory, data), entry_points=entries)
