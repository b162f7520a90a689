"""LockgateResource.batch_predict in a real Dagster asset: local and dask engines agree."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import lockgate
import pandas as pd
import pytest
from lockgate.errors import InvalidArgument
from lockgate_dagster import LockgateResource
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge


def test_batch_predict_asset_scores_with_dask(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    with lockgate.start_run():
        info = lockgate.sklearn.log_model(Ridge().fit(X, y), name="model", input_example=X.iloc[:3],
                                          registered_model_name="diabetes")
    assert info.registered_model_version == 1
    X.to_parquet(tmp_path / "in.parquet")

    @dg.asset
    def scores(lockgate: LockgateResource) -> dict[str, int]:
        local = lockgate.batch_predict("models:/diabetes/1", input_path=str(tmp_path / "in.parquet"),
                                       output_path=str(tmp_path / "local.parquet"), progress=False)
        on_dask = lockgate.batch_predict("models:/diabetes/1", input_path=str(tmp_path / "in.parquet"),
                                         output_path=str(tmp_path / "dask.parquet"), engine="dask")
        return {"local": local.rows, "dask": on_dask.rows}

    result = dg.materialize([scores], resources={"lockgate": LockgateResource()}, instance=instance)
    assert result.success
    assert result.output_for_node("scores") == {"local": len(X), "dask": len(X)}
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask.parquet"),
                                  pd.read_parquet(tmp_path / "local.parquet"))


def test_unknown_engine_fails_the_step_clearly(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    @dg.asset
    def scores(lockgate: LockgateResource) -> None:
        lockgate.batch_predict("models:/diabetes/1", input_path=str(tmp_path / "in.csv"),
                               output_path=str(tmp_path / "o.csv"), engine="ray")

    with pytest.raises(InvalidArgument, match=r"engine must be one of \['local', 'spark', 'dask'\], not 'ray'"):
        dg.materialize([scores], resources={"lockgate": LockgateResource()}, instance=instance)
