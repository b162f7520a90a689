"""Batch prediction of a file on one of three engines: ``local``, ``spark`` or ``dask``.

``score_file`` is what the Airflow operator, the Prefect task and the Dagster resource call.
``local`` is ``predict_batch``; ``spark`` and ``dask`` read the file with the engine, score it
with ``spark_udf`` / ``dask_predict``, write the engine's part files to a temp directory
and stream them into the one output file (CSV, Parquet or JSON Lines, as ``predict_batch``
writes it).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument, NotFound
from lockgate.models.optional import import_extra
from lockgate.serving.batch import BatchResult, _format_of, predict_batch, write_frames

if TYPE_CHECKING:
    from lockgate.client import LockgateClient

__all__ = ["ENGINES", "score_file"]

ENGINES = ("local", "spark", "dask")


def score_file(
    model_uri: Any,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    engine: str = "local",
    output_column: str = "prediction",
    spark: Any = None,
    client: LockgateClient | None = None,
    **local_options: Any,
) -> BatchResult:
    """Score a file with ``engine`` and write rows plus predictions to ``output_path``.

    ``local`` reads and writes .csv, .parquet and .jsonl; ``spark`` and ``dask`` read .csv
    and .parquet and write any of the three.

    ``spark`` is the SparkSession for ``engine="spark"`` (default: the active one, or a
    local one). ``dask`` uses the scheduler in force (a ``distributed.Client`` if one is
    running). ``local_options`` go to ``predict_batch`` (``chunk_size``, ``progress`` ...).
    """
    if engine not in ENGINES:
        raise InvalidArgument(f"engine must be one of {list(ENGINES)}, not {engine!r}.")
    if engine == "local":
        return predict_batch(model_uri, input_path, output_path, output_column=output_column,
                             client=client, **local_options)
    if local_options:
        raise InvalidArgument(f"Options {sorted(local_options)} apply to engine='local' only.")
    source, target = Path(input_path), Path(output_path)
    in_fmt, out_fmt = _format_of(source, "input"), _format_of(target, "output")
    if in_fmt not in ("csv", "parquet"):
        raise InvalidArgument(f"engine={engine!r} reads .csv or .parquet files, not {str(source)!r}.")
    if not source.exists():
        raise NotFound(f"The input file {str(source)!r} does not exist.")
    if source.resolve() == target.resolve():
        raise InvalidArgument("The output file must differ from the input file.")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lockgate-parts-") as parts:
        if engine == "dask":
            _score_with_dask(model_uri, source, in_fmt, parts, output_column=output_column, client=client)
        else:
            _score_with_spark(spark, model_uri, source, in_fmt, parts, output_column=output_column,
                              client=client)
        rows, chunks = _merge_parts(Path(parts), target, out_fmt)
    return BatchResult(rows=rows, chunks=chunks, output_path=str(target),
                       seconds=time.perf_counter() - started)


def _score_with_dask(model_uri: Any, source: Path, fmt: str, parts: str, *, output_column: str,
                     client: LockgateClient | None) -> None:
    dd = import_extra("dask.dataframe", extra="dask", feature="engine='dask'")
    from lockgate.serving.dask_scoring import dask_predict

    ddf = dd.read_parquet(str(source)) if fmt == "parquet" else dd.read_csv(str(source))
    scored = dask_predict(ddf, model_uri, output_column=output_column, client=client)
    scored.to_parquet(parts, write_index=False)


def _spark_session(spark: Any) -> Any:
    if spark is not None:
        return spark
    sql = import_extra("pyspark.sql", extra="spark", feature="engine='spark'")
    active = sql.SparkSession.getActiveSession()
    if active is not None:
        return active
    # Executors must run this interpreter, which has Lockgate and the model's libraries.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return sql.SparkSession.builder.master("local[*]").appName("lockgate-batch-predict").getOrCreate()


def _score_with_spark(spark: Any, model_uri: Any, source: Path, fmt: str, parts: str, *,
                      output_column: str, client: LockgateClient | None) -> None:
    import_extra("pyspark", extra="spark", feature="engine='spark'")
    from lockgate.serving.spark_scoring import spark_udf

    session = _spark_session(spark)
    reader = session.read
    frame = reader.parquet(str(source)) if fmt == "parquet" else reader.csv(str(source), header=True,
                                                                             inferSchema=True)
    predict = spark_udf(session, model_uri, client=client)
    out_dir = os.path.join(parts, "spark")
    frame.withColumn(output_column, predict(*frame.columns)).write.parquet(out_dir)


def _merge_parts(parts: Path, target: Path, fmt: str) -> tuple[int, int]:
    import pyarrow.parquet as pq

    files = sorted(p for p in parts.rglob("*.parquet") if not p.name.startswith((".", "_")))
    frames = (batch.to_pandas() for file in files for batch in pq.ParquetFile(file).iter_batches())
    rows, chunks = write_frames(frames, target, fmt)
    if chunks == 0:
        raise InvalidArgument("The input file has no rows.")
    return rows, chunks
