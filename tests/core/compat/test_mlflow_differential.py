"""The stock ``mlflow`` client against ``mlflow server`` and ``lockgate server``: same answers.

Every step of compat_scenario is one test here, per backend: its normalized result from
Lockgate must equal MLflow's, unless docs/mlflow-compat.md lists the step as an intended
difference; then the test asserts that exact difference (both sides as recorded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import compat_scenario  # noqa: F401 - registers the steps
import pytest
from compat_differences import INTENDED
from compat_runner import STEPS, Recording

# The first test of each backend starts both servers and records the whole scenario in its
# setup: seconds on a quiet machine, but many minutes on a CI box running other suites.
RECORDING_TIMEOUT = pytest.mark.timeout(1800)

COMPAT_DOC = Path(__file__).resolve().parents[3] / "docs" / "mlflow-compat.md"


def _compare(recordings: dict[str, Recording], name: str, *, backend: str) -> None:
    mlflow_result: Any = recordings["mlflow"].results[name]
    lockgate_result: Any = recordings["lockgate"].results[name]
    intended = INTENDED.get(name)
    if intended is not None:
        expected = intended.postgres if backend == "postgres" and intended.postgres else {
            "mlflow": intended.mlflow, "lockgate": intended.lockgate}
        assert mlflow_result == expected["mlflow"], f"MLflow's answer to {name} changed: {mlflow_result!r}"
        assert lockgate_result == expected["lockgate"], f"Lockgate's answer to {name}: {lockgate_result!r}"
        return
    assert lockgate_result == mlflow_result, f"{name}: Lockgate differs from MLflow"


@RECORDING_TIMEOUT
@pytest.mark.parametrize("name", [s.name for s in STEPS])
def test_sqlite_same_as_mlflow(sqlite_recordings: dict[str, Recording], name: str) -> None:
    _compare(sqlite_recordings, name, backend="sqlite")


@pytest.mark.postgres
@RECORDING_TIMEOUT
@pytest.mark.parametrize("name", [s.name for s in STEPS if s.postgres])
def test_postgres_same_as_mlflow(postgres_recordings: dict[str, Recording], name: str) -> None:
    _compare(postgres_recordings, name, backend="postgres")


def test_every_intended_difference_is_documented() -> None:
    doc = COMPAT_DOC.read_text()
    step_names = {s.name for s in STEPS}
    for name, difference in INTENDED.items():
        assert name in step_names, f"{name} is listed as a difference but is not a step"
        assert f"`{name}`" in doc, f"docs/mlflow-compat.md does not list the difference in {name}"
        assert difference.reason
