"""Small real models and data for the Spark and Dask scoring tests (sklearn's diabetes data)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import lockgate
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor


def diabetes_frame() -> tuple[pd.DataFrame, Any]:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y.to_numpy()


def save_regressor(path: Path) -> Path:
    X, y = diabetes_frame()
    model = GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
    lockgate.sklearn.save_model(model, path, input_example=X.iloc[:5])
    return path


class LoadCounter(lockgate.pyfunc.PythonModel):
    """Appends its process id to a file each time it is loaded; predicts the sum of columns."""

    def __init__(self, log_path: str) -> None:
        self.log_path = log_path

    def load_context(self, context: Any) -> None:
        with open(self.log_path, "a") as handle:
            handle.write(f"{os.getpid()}\n")

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        return model_input.sum(axis=1).to_numpy()


def loads_by_process(log_path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in log_path.read_text().split():
        counts[line] = counts.get(line, 0) + 1
    return counts


DOC = Path(__file__).resolve().parents[3] / "docs" / "models.md"


def run_block(section: str, index: int, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run the ``index``-th Python example under ``## <section>`` of docs/models.md in ``namespace``."""
    text = DOC.read_text().split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    exec(compile(blocks[index], str(DOC), "exec"), namespace)  # noqa: S102 - the documented example
    return namespace
