"""Distributed scoring throughput: Lockgate on Spark and Dask vs local batch vs MLflow's spark_udf.

Run by hand (not a test), in the tests-core environment (it has pyspark, dask, mlflow):

    .nox/tests-core/bin/python bench/distributed_scoring_bench.py [--rows 10000000] [--workers 2]

One model (scikit-learn Ridge on the diabetes data's 10 columns, saved once by
``lockgate.sklearn.save_model``, which MLflow loads natively) scores one Parquet file of
``--rows`` rows (the diabetes rows repeated with noise), in the same sitting:

* local: ``lockgate.serving.batch.predict_batch`` file to file (100,000-row chunks);
* Lockgate Dask: ``dask_predict`` on ``dd.read_parquet`` with a LocalCluster of ``--workers``
  processes, summing the predictions (so nothing is written);
* Lockgate Spark and MLflow Spark: ``lockgate.pyfunc.spark_udf`` and ``mlflow.pyfunc.spark_udf``
  (``env_manager="local"``) on a ``local[--workers]`` session reading the same file (same
  DataFrame, same partitions, Spark's default Arrow batch of 10,000 rows) and materialized the
  same way: the sum of the score column, collected; every tool's sum must agree, so all scored
  every row alike. Lockgate is called ``predict(*frame.columns)``; MLflow both ways its docs
  show, ``predict(struct(*frame.columns))`` and ``predict(*frame.columns)`` (the file's columns
  are in the signature's order, which the second needs: MLflow maps unnamed columns by
  position), so Lockgate is compared with MLflow's faster form (``--mlflow-call`` picks one).

Each measurement is wall time of the scoring job alone (model loading included; session and
cluster start-up, and the workers' first import of pandas/scikit-learn/lockgate/mlflow, are
excluded by a warm-up job; each Spark tool first scores a 1,000,000-row file of the same kind,
over several partitions, untimed, so neither pays for the JVM's first run of the plan or for
starting its UDF's Python workers). The Spark pair runs ``--repeat`` times, alternating which
tool goes first; the best of each is reported, with the load average at the start of every run.
rows/s = rows / seconds.
``--skip local dask`` runs the Spark pair alone (what the spark_udf target is about).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def make_data(path: Path, rows: int) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.datasets import load_diabetes

    X, _ = load_diabetes(return_X_y=True, as_frame=True)
    rng = np.random.default_rng(0)
    writer = None
    chunk = 500_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        base = X.sample(n=n, replace=True, random_state=start).reset_index(drop=True)
        frame = base + rng.normal(0, 0.001, size=base.shape)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=100_000)
    assert writer is not None
    writer.close()
    return list(X.columns)


def save_model(path: Path) -> None:
    import lockgate
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    lockgate.sklearn.save_model(Ridge().fit(X, y), path, input_example=X.iloc[:5],
                                pip_requirements=["scikit-learn", "pandas"])


def timed(label: str, rows: int, run: object) -> tuple[str, float]:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    run()  # type: ignore[operator]
    seconds = time.perf_counter() - started
    print(f"  {label:<28} {seconds:8.1f} s  {rows / seconds:>12,.0f} rows/s"
          f"  (load {load:.1f} at start)", flush=True)
    return label, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[], choices=["local", "dask", "spark", "mlflow"])
    parser.add_argument("--mlflow-call", nargs="+", default=["struct", "columns"], choices=["struct", "columns"],
                        help="how MLflow's UDF is called: with one struct column, with the columns, or both")
    args = parser.parse_args()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="lockgate-dist-bench-"))
    os.environ.setdefault("LOCKGATE_HOME", str(tmp / "home"))
    data, model = tmp / "rows.parquet", tmp / "model"
    print(f"writing {args.rows:,} rows to {data} ...", flush=True)
    make_data(data, args.rows)
    warm = tmp / "warm.parquet"
    make_data(warm, min(args.rows, 1_000_000))
    save_model(model)
    args.model = model
    results: list[tuple[str, float]] = []
    print(f"scoring {args.rows:,} rows, {args.workers} workers (machine load {os.getloadavg()[0]:.1f}):")

    if "local" not in args.skip:
        from lockgate.serving.batch import predict_batch

        results.append(timed("local predict_batch", args.rows, lambda: predict_batch(
            str(model), data, tmp / "out.parquet", progress=False, include_input=False)))

    if "dask" not in args.skip:
        import dask.dataframe as dd
        import lockgate
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster) as dask_client:
            dask_client.run(_warm_imports)

            def run_dask() -> None:
                scored = lockgate.pyfunc.dask_predict(dd.read_parquet(str(data)), str(model), include_input=False)
                total = scored["prediction"].sum().compute()
                assert np.isfinite(total)

            results.append(timed("Lockgate dask_predict", args.rows, run_dask))

    if not {"spark", "mlflow"} <= set(args.skip):
        from pyspark.sql import SparkSession

        spark = (SparkSession.builder.master(f"local[{args.workers}]").appName("lockgate-bench")
                 .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                 .config("spark.driver.memory", "2g")
                 .config("spark.sql.execution.arrow.maxRecordsPerBatch", "10000").getOrCreate())
        frame = spark.read.parquet(str(data))
        spark.sparkContext.parallelize(range(64), args.workers * 4).foreach(lambda _: _warm_imports())
        tools = spark_tools(args, spark)
        # Untimed: the plan on a small file warms the JVM and each tool; spread over several
        # partitions so every core's Python worker starts now, not in the first timed run.
        warm_frame = spark.read.parquet(str(warm)).repartition(args.workers * 4)
        for score in tools.values():
            score(warm_frame)
        totals: dict[str, float] = {}
        for round_ in range(args.repeat):
            order = list(tools) if round_ % 2 == 0 else list(reversed(tools))
            for label in order:
                results.append(timed(label, args.rows, lambda label=label: totals.__setitem__(
                    label, tools[label](frame))))
        first = next(iter(totals.values()))
        assert all(np.isclose(total, first, rtol=1e-9) for total in totals.values()), totals
        print(f"  sums of the scores agree: {first:,.3f}")
        spark.stop()

    best: dict[str, float] = {}
    for label, seconds in results:
        best[label] = min(seconds, best.get(label, seconds))
    print("\n| engine | seconds | rows/s |\n|---|---|---|")
    for label, seconds in best.items():
        print(f"| {label} | {seconds:.1f} | {args.rows / seconds:,.0f} |")
    return 0


def _warm_imports() -> None:
    import lockgate.models.pyfunc  # noqa: F401
    import mlflow.pyfunc  # noqa: F401
    import sklearn.linear_model  # noqa: F401


def spark_tools(args: argparse.Namespace, spark: Any) -> dict[str, Any]:
    """Each tool's job: build its UDF, score every row of a DataFrame, return the scores' sum."""
    from pyspark.sql import functions

    tools: dict[str, Any] = {}
    if "spark" not in args.skip:
        import lockgate

        def lockgate_spark(frame: Any) -> float:
            predict = lockgate.pyfunc.spark_udf(spark, str(args.model), result_type="double")
            return float(frame.select(functions.sum(predict(*frame.columns))).collect()[0][0])

        tools["Lockgate spark_udf"] = lockgate_spark
    if "mlflow" not in args.skip:
        import mlflow.pyfunc

        def mlflow_spark(frame: Any, call: str) -> float:
            predict = mlflow.pyfunc.spark_udf(spark, str(args.model), result_type="double", env_manager="local")
            scores = predict(functions.struct(*frame.columns)) if call == "struct" else predict(*frame.columns)
            return float(frame.select(functions.sum(scores)).collect()[0][0])

        for call in args.mlflow_call:
            tools[f"MLflow spark_udf ({call})"] = lambda frame, call=call: mlflow_spark(frame, call)
    return tools


if __name__ == "__main__":
    sys.exit(main())
