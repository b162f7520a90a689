"""Batch prediction over CSV and Parquet: chunked, same results as one big predict, clear errors."""

from __future__ import annotations

from pathlib import Path

import lockgate
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from lockgate.cli.models import models_app
from lockgate.errors import InvalidArgument, NotFound
from lockgate.serving.batch import predict_batch
from serving_support import training_frame
from typer.testing import CliRunner


def _write(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False)


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True)
    return pd.read_csv(path)


@pytest.mark.parametrize("in_ext, out_ext", [("parquet", "parquet"), ("csv", "csv"),
                                             ("csv", "parquet"), ("parquet", "csv"),
                                             ("jsonl", "jsonl"), ("parquet", "jsonl")])
def test_chunked_batch_matches_single_predict(churn_model_dir: Path, tmp_path: Path,
                                              in_ext: str, out_ext: str) -> None:
    X, _ = training_frame(rows=1003, seed=7)
    source = tmp_path / f"in.{in_ext}"
    _write(X, source)
    target = tmp_path / "out" / f"scores.{out_ext}"
    result = predict_batch(str(churn_model_dir), source, target, chunk_size=100, progress=False)
    assert (result.rows, result.chunks) == (1003, 11)
    out = _read(target)
    expected = lockgate.pyfunc.load_model(churn_model_dir).predict(X)
    assert list(out.columns) == ["age", "income", "plan", "prediction"]
    np.testing.assert_array_equal(out["prediction"].to_numpy(), expected)
    pd.testing.assert_series_equal(out["income"], X["income"], check_names=False)


def test_parquet_output_is_written_in_row_groups(churn_model_dir: Path, tmp_path: Path) -> None:
    X, _ = training_frame(rows=500)
    X.to_parquet(tmp_path / "in.parquet")
    predict_batch(churn_model_dir, tmp_path / "in.parquet", tmp_path / "o.parquet",
                  chunk_size=200, progress=True, include_input=False, output_column="churn")
    meta = pq.ParquetFile(tmp_path / "o.parquet").metadata
    assert (meta.num_rows, meta.num_row_groups) == (500, 3)
    assert pq.read_schema(tmp_path / "o.parquet").names == ["churn"]


def test_bad_inputs(churn_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        predict_batch(churn_model_dir, tmp_path / "missing.csv", tmp_path / "o.csv")
    (tmp_path / "in.txt").write_text("x")
    with pytest.raises(InvalidArgument, match=r"must end in \.csv, \.parquet or \.jsonl"):
        predict_batch(churn_model_dir, tmp_path / "in.txt", tmp_path / "o.csv")
    (tmp_path / "wrong.csv").write_text("age,salary\n1,2\n")
    with pytest.raises(InvalidArgument, match="Rows 0-0: Model input is missing required column"):
        predict_batch(churn_model_dir, tmp_path / "wrong.csv", tmp_path / "o.csv", progress=False)
    assert not (tmp_path / "o.csv").exists()  # no half-written output
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InvalidArgument, match="no rows|empty"):
        predict_batch(churn_model_dir, tmp_path / "empty.csv", tmp_path / "o.csv", progress=False)
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InvalidArgument, match="not a readable Parquet file"):
        predict_batch(churn_model_dir, tmp_path / "corrupt.parquet", tmp_path / "o.csv", progress=False)
    with pytest.raises(NotFound):
        predict_batch(tmp_path / "no-model", tmp_path / "wrong.csv", tmp_path / "o.csv")
    with pytest.raises(InvalidArgument, match="chunk_size"):
        predict_batch(churn_model_dir, tmp_path / "wrong.csv", tmp_path / "o.csv", chunk_size=0)


def test_cli_predict(churn_model_dir: Path, tmp_path: Path) -> None:
    X, _ = training_frame(rows=50)
    X.to_parquet(tmp_path / "customers.parquet")
    result = CliRunner().invoke(models_app, [
        "predict", "-m", str(churn_model_dir), "-i", str(tmp_path / "customers.parquet"),
        "-o", str(tmp_path / "scores.parquet"), "--chunk-size", "20"])
    assert result.exit_code == 0, result.output
    assert "Scored 50 rows in 3 chunk(s)" in result.output
    assert len(pd.read_parquet(tmp_path / "scores.parquet")) == 50
    bad = CliRunner().invoke(models_app, [
        "predict", "-m", str(tmp_path / "nope"), "-i", str(tmp_path / "customers.parquet"),
        "-o", str(tmp_path / "x.parquet")])
    assert bad.exit_code == 1 and "Nothing exists at" in bad.output


def test_lockgate_cli_predicts_with_a_registered_alias(tmp_path: Path) -> None:
    from lockgate.cli import app
    from sklearn.linear_model import LogisticRegression

    X, y = training_frame(rows=40)
    numeric = X[["age", "income"]]
    est = LogisticRegression().fit(numeric, y)
    with lockgate.start_run():
        lockgate.sklearn.log_model(est, name="model", input_example=numeric[:2],
                                   registered_model_name="churn")
    lockgate.LockgateClient().set_registered_model_alias("churn", "champion", 1)
    numeric.to_parquet(tmp_path / "customers.parquet")
    result = CliRunner().invoke(app, ["models", "predict", "-m", "models:/churn@champion",
                                      "-i", str(tmp_path / "customers.parquet"),
                                      "-o", str(tmp_path / "scores.parquet"), "--quiet"])
    assert result.exit_code == 0, result.output
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    np.testing.assert_array_equal(scores["prediction"].to_numpy(), est.predict(numeric))
    missing = CliRunner().invoke(app, ["models", "predict", "-m", "models:/churn@nobody",
                                       "-i", str(tmp_path / "customers.parquet"),
                                       "-o", str(tmp_path / "x.parquet")])
    assert missing.exit_code == 1 and "nobody" in missing.output
