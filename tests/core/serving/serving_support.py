"""Data shared by the serving tests (a module of its own: importing conftest by name is ambiguous)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["training_frame"]


def training_frame(rows: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"age": rng.integers(18, 80, rows).astype("int64"),
                      "income": rng.normal(50.0, 10.0, rows),
                      "plan": rng.choice(["basic", "pro"], rows)})
    y = ((X["income"] > 50) ^ (X["plan"] == "pro")).astype(int).to_numpy()
    return X, y
