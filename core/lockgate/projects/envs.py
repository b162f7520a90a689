"""Environment managers: ``local``, ``uv`` (locked and cached by lock hash), ``conda``, ``docker``."""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lockgate import settings
from lockgate.errors import InvalidArgument, LockgateError
from lockgate.projects.spec import Project

__all__ = ["ENV_MANAGERS", "Environment", "EnvironmentError_", "default_manager", "find_uv",
           "prepare"]

ENV_MANAGERS = ("uv", "local", "conda")


class EnvironmentError_(LockgateError):
    """The project's environment cannot be resolved or built."""

    code = "INVALID_PARAMETER_VALUE"


@dataclass
class Environment:
    """What a command runs in: env vars to add, the lock (if any) and notes for the user."""

    manager: str
    env: dict[str, str] = field(default_factory=dict)
    lock: str | None = None
    lock_hash: str | None = None
    python: str = sys.executable
    location: str = ""
    cached: bool = False
    notes: list[str] = field(default_factory=list)
    docker_image: str | None = None


def default_manager(project: Project) -> str:
    """uv when the project declares an environment, docker for docker_env, else local."""
    if project.env.kind == "docker":
        return "docker"
    return "local" if project.env.kind == "none" else "uv"


def find_uv() -> str:
    """The uv binary: the ``uv`` package's own, else the one on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise EnvironmentError_("lockgate run needs uv to build project environments: "
                            "pip install 'lockgate[projects]' (or see docs.astral.sh/uv), "
                            "or run with --env-manager local.")


def _uv_env() -> dict[str, str]:
    # Never download a Python build: use the interpreters that are on this machine.
    return {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": ""}


def _requirements(project: Project) -> tuple[str | None, str]:
    """(requested python version, requirements text) from the project's env file."""
    spec = project.env
    assert spec.path is not None
    if spec.kind == "python":
        try:
            data = yaml.safe_load(spec.path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise InvalidArgument(f"{spec.path.name}: not valid YAML ({exc}).") from None
        if not isinstance(data, dict):
            raise InvalidArgument(f"{spec.path.name}: expected python, build_dependencies, dependencies.")
        reqs = [str(r) for r in (data.get("build_dependencies") or []) + (data.get("dependencies") or [])]
        # -r lines are relative to the env file, as pip reads them.
        lines = [f"-r {spec.path.parent / r[3:].strip()}" if r.startswith("-r ") else r for r in reqs]
        python = data.get("python")
        return (str(python) if python else None), "\n".join(lines) + "\n"
    if spec.kind == "requirements":
        return None, f"-r {spec.path}\n"
    if spec.kind == "pyproject":
        return None, ""  # compiled from the file itself
    raise InvalidArgument(f"The uv environment manager cannot read {spec.path.name}.")


def _python_for(uv: str, requested: str | None, notes: list[str]) -> tuple[str, str]:
    """(interpreter, its exact version) for the project's requested Python."""
    current = platform.python_version()
    if requested and (current == requested or current.startswith(f"{requested}.")):
        return sys.executable, current  # asking uv would only find this interpreter again
    if requested:
        # Asking uv and the interpreter costs two processes (~1 s); a warm start reads the answer.
        known = _cache_root() / "pythons" / f"{hashlib.sha256(requested.encode()).hexdigest()[:16]}.txt"
        if known.is_file():
            python, _, version = known.read_text().partition("\n")
            if Path(python).is_file():
                return python, version.strip()
        found = subprocess.run([uv, "python", "find", requested], capture_output=True, check=False, text=True,
                               env=_uv_env())
        if found.returncode == 0 and found.stdout.strip():
            python = found.stdout.strip()
            version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                                     capture_output=True, text=True, check=True).stdout.strip()
            known.parent.mkdir(parents=True, exist_ok=True)
            known.write_text(f"{python}\n{version}\n")
            return python, version
        notes.append(f"Python {requested} (asked for by the project) is not installed here; "
                     f"using this interpreter's Python {current} instead.")
    return sys.executable, current


def compile_lock(project: Project, *, uv: str, python_version: str) -> str:
    """The resolved lock (``uv pip compile`` output, exact versions) for the project's deps."""
    _requested, text = _requirements(project)
    if project.env.kind == "pyproject":
        args = [str(project.env.path)]
        stdin = None
    else:
        if not text.strip():
            return ""
        args, stdin = ["-"], text
    done = subprocess.run(
        [uv, "pip", "compile", "--quiet", "--no-header", "--python-version", python_version, *args],
        input=stdin, capture_output=True, check=False, text=True, env=_uv_env(), cwd=project.directory,
    )
    if done.returncode != 0:
        detail = done.stderr.strip() or done.stdout.strip()
        raise EnvironmentError_(f"The environment of project {project.name!r} cannot be resolved:\n{detail}")
    return done.stdout


def lock_hash(lock: str) -> str:
    """The hash that names a locked environment (sha256 of the lock text, 16 hex digits)."""
    return hashlib.sha256(lock.encode()).hexdigest()[:16]


def _cache_root() -> Path:
    """Where locks and environments are cached: LOCKGATE_PROJECTS_HOME, else LOCKGATE_HOME/projects."""
    override = os.environ.get("LOCKGATE_PROJECTS_HOME")
    return Path(override).expanduser() if override else settings.home_dir() / "projects"


def _site_packages(env_dir: Path) -> Path:
    if os.name == "nt":
        return env_dir / "Lib" / "site-packages"
    libs = sorted((env_dir / "lib").glob("python*/site-packages"))
    return libs[0]


def _link_lockgate(env_dir: Path) -> None:
    """Let project code ``import lockgate`` from the running install, after its own packages."""
    import lockgate

    paths = [str(Path(lockgate.__file__).resolve().parent.parent), sysconfig.get_paths()["purelib"]]
    pth = _site_packages(env_dir) / "zz_lockgate_host.pth"
    content = "\n".join(dict.fromkeys(paths)) + "\n"
    if not pth.exists() or pth.read_text() != content:
        pth.write_text(content)


def _uv_environment(project: Project, *, lock: str | None, build: bool) -> Environment:
    uv = find_uv()
    notes: list[str] = []
    requested, _text = _requirements(project) if lock is None else (None, "")
    python, version = _python_for(uv, requested, notes)
    root = _cache_root()
    # The inputs -> lock step is cached too, so a warm run calls no resolver.
    inputs_key = hashlib.sha256("\n".join([
        version, project.env.kind, str(project.env.path and project.env.path.read_text()),
        _text,
    ]).encode()).hexdigest()[:16]
    lock_file = root / "locks" / f"{inputs_key}.txt"
    if lock is None:
        if lock_file.is_file():
            lock = lock_file.read_text()
        else:
            lock = compile_lock(project, uv=uv, python_version=version)
            lock_file.parent.mkdir(parents=True, exist_ok=True)
            lock_file.write_text(lock)
    digest = lock_hash(lock)
    env_dir = root / "envs" / f"{digest}-py{version}"
    ready = env_dir / ".lockgate-ready"
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    result = Environment(manager="uv", lock=lock, lock_hash=digest, location=str(env_dir),
                         python=str(bindir / "python"), cached=ready.exists(), notes=notes)
    result.env = {"VIRTUAL_ENV": str(env_dir), "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    if not build or result.cached:
        if result.cached:
            _link_lockgate(env_dir)
        return result
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(env_dir.parent / f"{env_dir.name}.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # two runs building one env wait for each other
        if not ready.exists():
            shutil.rmtree(env_dir, ignore_errors=True)
            resolved = root / "locks" / f"{digest}.resolved.txt"
            resolved.parent.mkdir(parents=True, exist_ok=True)
            resolved.write_text(lock)
            steps = [["venv", "--quiet", "--python", python, str(env_dir)]]
            if lock.strip():
                steps.append(["pip", "sync", "--quiet", "--python", result.python, str(resolved)])
            for args in steps:
                done = subprocess.run([uv, *args], capture_output=True, check=False, text=True, env=_uv_env())
                if done.returncode != 0:
                    shutil.rmtree(env_dir, ignore_errors=True)
                    raise EnvironmentError_(f"Building the environment of project {project.name!r} "
                                            f"failed (uv {args[0]}):\n{done.stderr.strip()}")
            ready.write_text(digest)
    _link_lockgate(env_dir)
    return result


def _conda(project: Project) -> Environment:
    conda = os.environ.get("CONDA_EXE") or shutil.which("conda") or shutil.which("mamba")
    if not conda:
        raise EnvironmentError_(
            f"Project {project.name!r} asks for a conda environment, but no conda executable is "
            "on PATH (or in CONDA_EXE). Install conda, or run with --env-manager uv (reads "
            "python_env.yaml / requirements.txt) or --env-manager local."
        )
    if project.env.kind != "conda" or project.env.path is None:
        raise EnvironmentError_("--env-manager conda needs a conda_env file (conda.yaml) in the project.")
    digest = hashlib.sha256(project.env.path.read_bytes()).hexdigest()[:16]
    prefix = _cache_root() / "conda" / digest
    if not (prefix / "conda-meta").is_dir():
        done = subprocess.run([conda, "env", "create", "--quiet", "--prefix", str(prefix), "--file",
                               str(project.env.path)], capture_output=True, check=False, text=True)
        if done.returncode != 0:
            raise EnvironmentError_(f"conda could not create the environment of {project.name!r}:\n"
                                    f"{done.stderr.strip()}")
    return Environment(manager="conda", location=str(prefix), python=str(prefix / "bin" / "python"),
                       env={"PATH": f"{prefix / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                            "CONDA_PREFIX": str(prefix)})


def container_engine() -> str:
    """The first container engine (docker, podman) that answers, or a clear error."""
    tried = []
    for engine in ("docker", "podman"):
        path = shutil.which(engine)
        if not path:
            tried.append(f"{engine}: not installed")
            continue
        try:
            done = subprocess.run([path, "info"], capture_output=True, check=False, text=True, timeout=20)
        except subprocess.TimeoutExpired:
            tried.append(f"{engine}: no answer in 20 s")
            continue
        if done.returncode == 0:
            return path
        tried.append(f"{engine}: {(done.stderr.strip().splitlines() or ['no answer'])[-1]}")
    raise EnvironmentError_("This project runs in docker_env, but no container engine answers ("
                            + "; ".join(tried) + ").")


def prepare(project: Project, manager: str, *, lock: str | None = None,
            build: bool = True) -> Environment:
    """The environment ``manager`` gives ``project`` (built and cached unless ``build=False``)."""
    if manager == "docker" or project.env.kind == "docker":
        if manager not in ("docker", "local") and project.env.kind == "docker":
            raise InvalidArgument(f"Project {project.name!r} declares docker_env; "
                                  f"--env-manager {manager} does not apply.")
        engine = container_engine()
        return Environment(manager="docker", location=engine, docker_image=project.env.image)
    if manager == "local":
        return Environment(manager="local", location=sys.prefix)
    if manager == "uv":
        if project.env.kind == "none" and lock is None:
            return Environment(manager="local", location=sys.prefix,
                               notes=["The project declares no environment; running locally."])
        if project.env.kind == "conda" and lock is None:
            raise InvalidArgument(f"Project {project.name!r} declares a conda_env; use "
                                  "--env-manager conda, or give it a python_env.yaml for uv.")
        return _uv_environment(project, lock=lock, build=build)
    if manager == "conda":
        return _conda(project)
    raise InvalidArgument(f"--env-manager must be one of {', '.join(ENV_MANAGERS)}, not {manager!r}.")
