"""Lockgate Projects: run MLflow ``MLproject`` code in a locked uv environment, and re-run it.

``lockgate.projects.run(".", entry_point="train", parameters={"lr": 0.1})`` returns the
finished run; ``lockgate.projects.rerun(run_id)`` repeats a past run exactly. Loaded lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ProjectRunFailed", "load_project", "rerun", "run", "summary"]

_EXPORTS = {"run": "lockgate.projects.runner", "rerun": "lockgate.projects.runner",
            "summary": "lockgate.projects.runner", "ProjectRunFailed": "lockgate.projects.runner",
            "load_project": "lockgate.projects.spec"}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lockgate.projects' has no attribute {name!r}")
