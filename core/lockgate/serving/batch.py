"""Batch prediction over CSV, Parquet and JSON Lines files, chunk by chunk, with a progress bar.

Memory stays bounded by the chunk size whatever the file size: Parquet is read with
``pyarrow``'s ``iter_batches``, CSV and JSON Lines with pandas' chunked readers, and results
are appended to the output file as each chunk is scored.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from lockgate.client import LockgateClient

__all__ = ["BatchResult", "predict_batch", "predict_frames", "write_frames"]

_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}


@dataclass(frozen=True)
class BatchResult:
    """What a batch run did: rows scored, chunks, where the output went and how long it took."""

    rows: int
    chunks: int
    output_path: str
    seconds: float


def _format_of(path: Path, role: str) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidArgument(
            f"The {role} file {str(path)!r} must end in .csv, .parquet or .jsonl "
            f"(got {path.suffix or 'none'!r})."
        )
    return fmt


def _chunks(path: Path, fmt: str, chunk_size: int, columns: list[str] | None) -> Iterator[Any]:
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise InvalidArgument(f"The input file {str(path)!r} is not a readable Parquet file: {exc}") from None
        for batch in parquet.iter_batches(batch_size=chunk_size, columns=columns):
            yield batch.to_pandas()
    elif fmt == "jsonl":
        yield from _jsonl_chunks(path, chunk_size, columns)
    else:
        import pandas as pd

        try:
            reader = pd.read_csv(path, chunksize=chunk_size, usecols=columns)
        except pd.errors.EmptyDataError:
            raise InvalidArgument(f"The input file {str(path)!r} is empty.") from None
        except (ValueError, pd.errors.ParserError) as exc:
            raise InvalidArgument(f"The input file {str(path)!r} could not be read: {exc}") from None
        with reader:
            yield from reader


def _jsonl_chunks(path: Path, chunk_size: int, columns: list[str] | None) -> Iterator[Any]:
    import pandas as pd

    try:
        with pd.read_json(path, lines=True, chunksize=chunk_size) as reader:
            for frame in reader:
                yield frame if columns is None else frame[columns]
    except ValueError as exc:
        raise InvalidArgument(f"The input file {str(path)!r} is not readable JSON Lines: {exc}") from None


def _row_count(path: Path, fmt: str) -> int | None:
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except (pa.ArrowException, OSError) as exc:
            raise InvalidArgument(f"The input file {str(path)!r} is not a readable Parquet file: {exc}") from None
    return None


def _attach(frame: Any, predictions: Any, column: str) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        out = predictions.reset_index(drop=True)
        out.columns = [f"{column}_{c}" if len(out.columns) > 1 else column for c in out.columns]
    else:
        values = predictions.to_numpy() if isinstance(predictions, pd.Series) else np.asarray(predictions)
        if values.ndim == 1:
            out = pd.DataFrame({column: values})
        else:
            flat = values.reshape(len(values), -1)
            out = pd.DataFrame(flat, columns=[f"{column}_{i}" for i in range(flat.shape[1])])
    if len(out) != len(frame):
        raise InvalidArgument(
            f"The model returned {len(out)} predictions for {len(frame)} rows; cannot align them."
        )
    return pd.concat([frame.reset_index(drop=True), out], axis=1)


def predict_frames(model: Any, frames: Iterator[Any], *, output_column: str = "prediction",
                   include_input: bool = True) -> Iterator[Any]:
    """Score DataFrames one by one, yielding each with its predictions attached."""
    import pandas as pd

    offset = 0
    for frame in frames:
        try:
            predictions = model.predict(frame)
        except InvalidArgument as exc:
            raise InvalidArgument(f"Rows {offset}-{offset + len(frame) - 1}: {exc.message}",
                                  details=exc.details) from None
        base = frame if include_input else pd.DataFrame(index=frame.index)
        yield _attach(base, predictions, output_column)
        offset += len(frame)


class _Writer:
    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self._parquet: Any = None
        self._first = True

    def write(self, frame: Any) -> None:
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._parquet is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            else:
                table = pa.Table.from_pandas(frame, schema=self._parquet.schema, preserve_index=False)
            self._parquet.write_table(table)
        elif self.fmt == "jsonl":
            frame.to_json(self.path, orient="records", lines=True, mode="w" if self._first else "a")
        else:
            frame.to_csv(self.path, mode="w" if self._first else "a", header=self._first, index=False)
        self._first = False

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()


def write_frames(frames: Iterator[Any], target: Path, fmt: str) -> tuple[int, int]:
    """Write DataFrames one by one into ``target`` (csv, parquet or jsonl); returns (rows, chunks).

    The file appears only when every frame was written (a ``.partial`` file is renamed into
    place); on any error, or when there were no frames, nothing is left behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial")
    writer = _Writer(tmp, fmt)
    rows = chunks = 0
    try:
        for frame in frames:
            writer.write(frame)
            rows += len(frame)
            chunks += 1
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    if chunks == 0:
        tmp.unlink(missing_ok=True)
    else:
        os.replace(tmp, target)
    return rows, chunks


def predict_batch(
    model_uri: Any,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    chunk_size: int = 100_000,
    progress: bool = True,
    output_column: str = "prediction",
    include_input: bool = True,
    columns: list[str] | None = None,
    client: LockgateClient | None = None,
) -> BatchResult:
    """Score a CSV, Parquet or JSON Lines file in chunks and write the rows with predictions to ``output_path``.

    ``model_uri`` is any model URI (path, ``runs:/``, ``models:/``) or a loaded PyFuncModel;
    ``client`` is the tracking server or database a URI refers to (default: the one in force).
    """
    from lockgate.models.pyfunc import PyFuncModel, load_model

    if chunk_size < 1:
        raise InvalidArgument(f"chunk_size must be at least 1, not {chunk_size}.")
    source, target = Path(input_path), Path(output_path)
    in_fmt, out_fmt = _format_of(source, "input"), _format_of(target, "output")
    if not source.is_file():
        raise NotFound(f"The input file {str(source)!r} does not exist.")
    if source.resolve() == target.resolve():
        raise InvalidArgument("The output file must differ from the input file.")
    model = model_uri if isinstance(model_uri, PyFuncModel) else load_model(model_uri, client=client)
    total = _row_count(source, in_fmt)
    started = time.perf_counter()
    frames = predict_frames(model, _chunks(source, in_fmt, chunk_size, columns),
                            output_column=output_column, include_input=include_input)
    if progress:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        with Progress(TextColumn("[bold]scoring"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("rows"), TimeElapsedColumn(), TimeRemainingColumn(),
                      transient=False) as bar:
            task = bar.add_task("scoring", total=total)

            def advancing(frames: Iterator[Any]) -> Iterator[Any]:
                for frame in frames:
                    yield frame
                    bar.update(task, advance=len(frame))

            rows, chunks = write_frames(advancing(frames), target, out_fmt)
    else:
        rows, chunks = write_frames(frames, target, out_fmt)
    if chunks == 0:
        raise InvalidArgument(f"The input file {str(source)!r} has no rows.")
    return BatchResult(rows=rows, chunks=chunks, output_path=str(target),
                       seconds=time.perf_counter() - started)
