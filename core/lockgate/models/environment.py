"""The Python environment a model needs: pinned requirements, python_env.yaml and conda.yaml.

On load, the pins are compared with what is installed and a warning names every package whose
version differs (and a different Python minor version), since a model pickled under one
version of a library may behave differently under another.
"""

from __future__ import annotations

import functools
import platform
import re
import warnings
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import yaml

__all__ = [
    "EnvironmentMismatchWarning",
    "environment_mismatches",
    "pinned_requirement",
    "read_requirements",
    "warn_on_mismatch",
    "write_environment",
]

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_FILE = "conda.yaml"


class EnvironmentMismatchWarning(UserWarning):
    """The running Python or packages differ from those the model was saved with."""


# Looking a distribution up scans sys.path (tens of ms for one that is absent); installed
# versions do not change under a running process, so each is looked up once.
@functools.lru_cache(maxsize=512)
def _installed_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def pinned_requirement(dist: str) -> str:
    """``dist==<installed version>`` (local labels such as ``+cpu`` dropped), or the bare name."""
    version = _installed_version(dist)
    if version is None:
        return dist
    return f"{dist}=={version.split('+', 1)[0]}"


def write_environment(
    model_dir: str | Path,
    *,
    default_packages: Iterable[str],
    pip_requirements: Iterable[str] | None = None,
    extra_pip_requirements: Iterable[str] | None = None,
) -> dict[str, str]:
    """Write requirements.txt, python_env.yaml and conda.yaml; returns the pyfunc ``env`` entry."""
    model_dir = Path(model_dir)
    if pip_requirements is not None:
        requirements = [str(r) for r in pip_requirements]
    else:
        requirements = [pinned_requirement(d) for d in default_packages]
    for extra in extra_pip_requirements or []:
        if str(extra) not in requirements:
            requirements.append(str(extra))
    (model_dir / REQUIREMENTS_FILE).write_text("\n".join(requirements) + "\n")
    python_version = platform.python_version()
    build = [pinned_requirement(d) for d in ("pip", "setuptools", "wheel")]
    (model_dir / PYTHON_ENV_FILE).write_text(yaml.safe_dump(
        {"python": python_version, "build_dependencies": build,
         "dependencies": [f"-r {REQUIREMENTS_FILE}"]}, sort_keys=False))
    (model_dir / CONDA_FILE).write_text(yaml.safe_dump(
        {"name": "lockgate-env", "channels": ["conda-forge"],
         "dependencies": [f"python={python_version}", "pip", {"pip": requirements}]},
        sort_keys=False))
    return {"conda": CONDA_FILE, "virtualenv": PYTHON_ENV_FILE}


_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")


def read_requirements(model_dir: str | Path) -> dict[str, str]:
    """``{package: pinned version}`` from the model's requirements.txt (unpinned lines skipped)."""
    path = Path(model_dir) / REQUIREMENTS_FILE
    if not path.is_file():
        return {}
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = _REQ.match(line)
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def _python_of(model_dir: Path, saved_python: str | None) -> str | None:
    env = model_dir / PYTHON_ENV_FILE
    if env.is_file():
        try:
            data = yaml.safe_load(env.read_text()) or {}
            if isinstance(data, dict) and data.get("python"):
                return str(data["python"])
        except yaml.YAMLError:
            pass
    return saved_python


def environment_mismatches(model_dir: str | Path, *, saved_python: str | None = None) -> list[str]:
    """One line per difference between the saved environment and the running one."""
    model_dir = Path(model_dir)
    problems: list[str] = []
    python = _python_of(model_dir, saved_python)
    if python:
        running = platform.python_version()
        if python.split(".")[:2] != running.split(".")[:2]:
            problems.append(f"Python {python} (running {running})")
    for dist, wanted in read_requirements(model_dir).items():
        installed = _installed_version(dist)
        if installed is None:
            problems.append(f"{dist}=={wanted} (not installed)")
        elif installed.split("+", 1)[0] != wanted.split("+", 1)[0]:
            problems.append(f"{dist}=={wanted} (running {installed})")
    return problems


def warn_on_mismatch(model_dir: str | Path, *, saved_python: str | None = None) -> list[str]:
    """Warn once listing every environment difference; returns them."""
    problems = environment_mismatches(model_dir, saved_python=saved_python)
    if problems:
        warnings.warn(
            "The model was saved with a different environment: " + "; ".join(problems)
            + ". Predictions may differ; install the versions in the model's requirements.txt.",
            EnvironmentMismatchWarning,
            stacklevel=3,
        )
    return problems
