"""A small real scikit-learn model saved with Lockgate, shared by the serving tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def training_frame(rows: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"age": rng.integers(18, 80, rows).astype("int64"),
                      "income": rng.normal(50.0, 10.0, rows),
                      "plan": rng.choice(["basic", "pro"], rows)})
    y = ((X["income"] > 50) ^ (X["plan"] == "pro")).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="session")
def churn_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fitted pipeline (one-hot + logistic regression) saved as an MLmodel directory."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import lockgate

    X, y = training_frame()
    pipeline = make_pipeline(
        make_column_transformer((StandardScaler(), ["age", "income"]), (OneHotEncoder(), ["plan"])),
        LogisticRegression(),
    ).fit(X, y)
    path = tmp_path_factory.mktemp("models") / "churn"
    lockgate.sklearn.save_model(pipeline, path, input_example=X[:3])
    return path
