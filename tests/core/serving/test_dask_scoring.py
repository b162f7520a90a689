"""dask_predict and engine='dask': a real local cluster, same predictions as predict_batch."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import dask.dataframe as dd
import lockgate
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster
from distributed_support import LoadCounter, diabetes_frame, loads_by_process, save_regressor
from lockgate.errors import InvalidArgument, NotFound
from lockgate.serving.batch import predict_batch
from lockgate.serving.engines import score_file


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Client]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client


def test_dask_predict_matches_local_batch(dask_client: Client, tmp_path: Path) -> None:
    model_dir = save_regressor(tmp_path / "m")
    X, _ = diabetes_frame()
    X.to_parquet(tmp_path / "in.parquet")
    predict_batch(str(model_dir), tmp_path / "in.parquet", tmp_path / "local.parquet", progress=False)
    local = pd.read_parquet(tmp_path / "local.parquet")

    # Columns in another order than the signature's: matched by name.
    ddf = dd.from_pandas(X[list(reversed(X.columns))], npartitions=4)
    scored = lockgate.pyfunc.dask_predict(ddf, str(model_dir)).compute()
    np.testing.assert_allclose(scored["prediction"].to_numpy(), local["prediction"].to_numpy())
    assert list(scored.columns) == list(reversed(X.columns)) + ["prediction"]


def test_model_is_loaded_once_per_worker(dask_client: Client, tmp_path: Path) -> None:
    log = tmp_path / "loads.txt"
    lockgate.pyfunc.save_model(tmp_path / "m", python_model=LoadCounter(str(log)),
                               input_example=pd.DataFrame({"a": [1.0], "b": [2.0]}))
    log.write_text("")
    frame = pd.DataFrame({"a": np.arange(400.0), "b": np.ones(400)})
    scored = lockgate.pyfunc.dask_predict(dd.from_pandas(frame, npartitions=16), str(tmp_path / "m"),
                                          output_column="total").compute()
    np.testing.assert_array_equal(scored["total"].to_numpy(), frame["a"] + 1.0)
    counts = loads_by_process(log)
    workers = {str(pid) for pid in dask_client.run(os.getpid).values()}
    assert counts.pop(str(os.getpid())) == 1  # the driver's copy checks the signature
    assert set(counts) <= workers and all(n == 1 for n in counts.values()), counts


def test_missing_and_mistyped_columns_are_named(dask_client: Client, tmp_path: Path) -> None:
    model_dir = save_regressor(tmp_path / "m")
    X, _ = diabetes_frame()
    with pytest.raises(InvalidArgument, match=r"lacks column\(s\) \['bmi'\]"):
        lockgate.pyfunc.dask_predict(dd.from_pandas(X.drop(columns=["bmi"]), npartitions=2), str(model_dir))
    with pytest.raises(InvalidArgument, match="'bp'"):
        lockgate.pyfunc.dask_predict(dd.from_pandas(X.assign(bp="high"), npartitions=2), str(model_dir))


def test_unresolvable_model_uri_fails_before_any_work(dask_client: Client) -> None:
    X, _ = diabetes_frame()
    with pytest.raises(NotFound, match="nobody"):
        lockgate.pyfunc.dask_predict(dd.from_pandas(X, npartitions=2), "models:/nobody@champion")


@pytest.mark.parametrize("out_ext", ["parquet", "csv"])
def test_engine_dask_writes_the_same_file_as_local(dask_client: Client, tmp_path: Path, out_ext: str) -> None:
    model_dir = save_regressor(tmp_path / "m")
    X, _ = diabetes_frame()
    X.to_csv(tmp_path / "in.csv", index=False)
    local = score_file(str(model_dir), tmp_path / "in.csv", tmp_path / f"local.{out_ext}", progress=False)
    dist = score_file(str(model_dir), tmp_path / "in.csv", tmp_path / f"dask.{out_ext}", engine="dask")
    assert local.rows == dist.rows == len(X)
    read = pd.read_parquet if out_ext == "parquet" else pd.read_csv
    pd.testing.assert_frame_equal(read(tmp_path / f"dask.{out_ext}"), read(tmp_path / f"local.{out_ext}"))


def test_unknown_or_missing_engine_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir = save_regressor(tmp_path / "m")
    X, _ = diabetes_frame()
    X.to_parquet(tmp_path / "in.parquet")
    with pytest.raises(InvalidArgument, match="engine must be one of"):
        score_file(str(model_dir), tmp_path / "in.parquet", tmp_path / "o.parquet", engine="ray")
    monkeypatch.setitem(sys.modules, "pyspark", None)  # what an uninstalled package looks like
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(InvalidArgument, match=r"pip install 'lockgate\[spark\]'"):
        score_file(str(model_dir), tmp_path / "in.parquet", tmp_path / "o.parquet", engine="spark")
