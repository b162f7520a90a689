"""docs/models.md: the flavor and Dask examples run as written (the Spark one in test_spark_scoring)."""

from __future__ import annotations

import numpy as np
from distributed_support import run_block


def test_xgboost_example_runs() -> None:
    ns = run_block("Flavors", 0, {})
    assert ns["info"].registered_model_version == 1
    np.testing.assert_array_equal(ns["predictions"], ns["booster"].predict(ns["X"]))
    np.testing.assert_array_equal(ns["native"].predict(ns["X"]), ns["booster"].predict(ns["X"]))


def test_dask_example_runs() -> None:
    ns = run_block("Scoring on Spark and Dask", 0, {})
    result = ns["result"]
    assert list(result.columns) == [*ns["X"].columns, "prediction"]
    expected = ns["lockgate"].pyfunc.load_model("models:/diabetes/1").predict(ns["X"])
    np.testing.assert_allclose(result["prediction"].to_numpy(), expected)
