"""spark_udf and engine='spark' on PySpark's local mode: same predictions as predict_batch."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lockgate
import numpy as np
import pandas as pd
import pytest
from distributed_support import (
    LoadCounter,
    diabetes_frame,
    loads_by_process,
    run_block,
    save_regressor,
)
from lockgate.errors import InvalidArgument, NotFound
from lockgate.serving.batch import predict_batch
from lockgate.serving.engines import score_file


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    # Executors run this interpreter (it has lockgate and scikit-learn), never the system one.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2]").appName("lockgate-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
               .config("spark.python.worker.reuse", "true").getOrCreate())
    yield session
    session.stop()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_regressor(tmp_path_factory.mktemp("spark") / "m")


def test_spark_udf_matches_local_batch(spark: Any, model_dir: Path, tmp_path: Path) -> None:
    X, _ = diabetes_frame()
    X.to_parquet(tmp_path / "in.parquet")
    predict_batch(str(model_dir), tmp_path / "in.parquet", tmp_path / "local.parquet", progress=False)
    local = pd.read_parquet(tmp_path / "local.parquet")

    df = spark.createDataFrame(X[list(reversed(X.columns))])  # matched by name, not position
    predict = lockgate.pyfunc.spark_udf(spark, str(model_dir), result_type="double")
    scored = df.withColumn("score", predict(*df.columns)).toPandas()
    np.testing.assert_allclose(scored["score"].to_numpy(), local["prediction"].to_numpy())
    # No columns: the signature's own.
    again = df.select(predict().alias("score")).toPandas()
    np.testing.assert_allclose(again["score"].to_numpy(), local["prediction"].to_numpy())
    # Column objects (sent as one struct) and a column the signature lacks: the same predictions.
    from pyspark.sql import functions

    extra = df.withColumn("row_id", functions.monotonically_increasing_id())
    by_column = extra.select(predict(*[functions.col(c) for c in extra.columns]).alias("score")).toPandas()
    np.testing.assert_allclose(by_column["score"].to_numpy(), local["prediction"].to_numpy())
    by_name = extra.select(predict("row_id", *df.columns).alias("score")).toPandas()
    np.testing.assert_allclose(by_name["score"].to_numpy(), local["prediction"].to_numpy())


def test_model_is_loaded_once_per_executor_process(spark: Any, tmp_path: Path) -> None:
    import cloudpickle
    import distributed_support

    # Executors cannot import the tests' helper module: ship the model's class by value.
    cloudpickle.register_pickle_by_value(distributed_support)
    log = tmp_path / "loads.txt"
    lockgate.pyfunc.save_model(tmp_path / "m", python_model=LoadCounter(str(log)),
                               input_example=pd.DataFrame({"a": [1.0], "b": [2.0]}))
    log.write_text("")
    frame = pd.DataFrame({"a": np.arange(2000.0), "b": np.ones(2000)})
    df = spark.createDataFrame(frame).repartition(8)
    predict = lockgate.pyfunc.spark_udf(spark, str(tmp_path / "m"))
    scored = df.withColumn("total", predict("a", "b")).toPandas().sort_values("a")
    np.testing.assert_array_equal(scored["total"].to_numpy(), frame["a"] + 1.0)
    counts = loads_by_process(log)
    assert counts.pop(str(os.getpid())) == 1  # the driver's copy checks the signature
    # Two cores: at most two Python workers, each loads once across the 8 partitions.
    assert 1 <= len(counts) <= 2 and all(n == 1 for n in counts.values()), counts


def test_one_column_model_reads_only_its_column(spark: Any, tmp_path: Path) -> None:
    import cloudpickle
    import distributed_support
    from pyspark.sql import functions

    cloudpickle.register_pickle_by_value(distributed_support)
    lockgate.pyfunc.save_model(tmp_path / "m", python_model=LoadCounter(str(tmp_path / "loads.txt")),
                               input_example=pd.DataFrame({"a": [1.0]}))
    frame = pd.DataFrame({"b": np.full(100, 1000.0), "a": np.arange(100.0)})
    df = spark.createDataFrame(frame)
    predict = lockgate.pyfunc.spark_udf(spark, str(tmp_path / "m"))
    # The model sums its input's columns: "b" must not reach it, by name or as a struct field.
    named = df.select(predict("b", "a").alias("s")).toPandas()["s"].to_numpy()
    structed = df.select(predict(functions.col("b"), df["a"]).alias("s")).toPandas()["s"].to_numpy()
    np.testing.assert_array_equal(named, frame["a"].to_numpy())
    np.testing.assert_array_equal(structed, frame["a"].to_numpy())


def test_signature_mismatches_are_named(spark: Any, model_dir: Path) -> None:
    X, _ = diabetes_frame()
    predict = lockgate.pyfunc.spark_udf(spark, str(model_dir))
    df = spark.createDataFrame(X.drop(columns=["bmi"]))
    with pytest.raises(InvalidArgument, match=r"lacks column\(s\) \['bmi'\]"):
        predict(*df.columns)
    typed = spark.createDataFrame(X.assign(bp="high"))
    with pytest.raises(Exception, match="'bp'"):  # raised in the executor, carried by Spark's error
        typed.withColumn("p", predict(*typed.columns)).collect()


def test_bad_arguments(spark: Any, model_dir: Path) -> None:
    with pytest.raises(InvalidArgument, match="result_type"):
        lockgate.pyfunc.spark_udf(spark, str(model_dir), result_type="map<string,int>")
    with pytest.raises(NotFound, match="nobody"):
        lockgate.pyfunc.spark_udf(spark, "models:/nobody@champion")


def test_engine_spark_writes_the_same_file_as_local(spark: Any, model_dir: Path, tmp_path: Path) -> None:
    X, _ = diabetes_frame()
    X.to_parquet(tmp_path / "in.parquet")
    local = score_file(str(model_dir), tmp_path / "in.parquet", tmp_path / "local.parquet", progress=False)
    dist = score_file(str(model_dir), tmp_path / "in.parquet", tmp_path / "spark.parquet", engine="spark",
                      spark=spark)
    assert local.rows == dist.rows == len(X)
    out = pd.read_parquet(tmp_path / "spark.parquet").sort_values("age", kind="stable")
    expected = pd.read_parquet(tmp_path / "local.parquet").sort_values("age", kind="stable")
    np.testing.assert_allclose(out.sort_values(list(X.columns))["prediction"].to_numpy(),
                               expected.sort_values(list(X.columns))["prediction"].to_numpy())


def test_docs_spark_example_runs(spark: Any) -> None:
    ns = run_block("Scoring on Spark and Dask", 0, {})  # the Dask example registers models:/diabetes/1
    spark_ns = run_block("Scoring on Spark and Dask", 1, {**ns, "spark": spark})
    scored = spark_ns["scored_df"].toPandas()
    np.testing.assert_allclose(scored["score"].to_numpy(), ns["result"]["prediction"].to_numpy())
