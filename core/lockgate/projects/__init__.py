"""Lockgate Projects: run MLflow ``MLproject`` code in a locked uv environment, and re-run it.

``lockgate.projects.run(".", entry_point="train", parameters={"lr": 0.1})`` returns the
finished run; ``lockgate.projects.rerun(run_id)`` repeats a past run exactly. Loaded lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lockgate._lazy import lazy_exports

if TYPE_CHECKING:
    from lockgate.projects.runner import ProjectRunFailed, rerun, run, summary
    from lockgate.projects.spec import load_project

__all__ = ["ProjectRunFailed", "load_project", "rerun", "run", "summary"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "run": "lockgate.projects.runner",
    "rerun": "lockgate.projects.runner",
    "summary": "lockgate.projects.runner",
    "ProjectRunFailed": "lockgate.projects.runner",
    "load_project": "lockgate.projects.spec",
})
