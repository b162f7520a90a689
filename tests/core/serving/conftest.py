"""A small real scikit-learn model saved with Lockgate, shared by the serving tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from serving_support import training_frame


@pytest.fixture(scope="session")
def churn_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fitted pipeline (one-hot + logistic regression) saved as an MLmodel directory."""
    import lockgate
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = training_frame()
    pipeline = make_pipeline(
        make_column_transformer((StandardScaler(), ["age", "income"]), (OneHotEncoder(), ["plan"])),
        LogisticRegression(),
    ).fit(X, y)
    path = tmp_path_factory.mktemp("models") / "churn"
    lockgate.sklearn.save_model(pipeline, path, input_example=X[:3])
    return path
