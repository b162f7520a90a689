"""Score a ``dask.dataframe`` with a model: one load per worker, the batch path per partition."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from lockgate.models.optional import import_extra
from lockgate.serving.batch import predict_frames
from lockgate.serving.shipped import ShippedModel, check_columns, ship_model

if TYPE_CHECKING:
    from lockgate.client import LockgateClient

__all__ = ["dask_predict"]


def _score_partition(frame: Any, shipped: ShippedModel, output_column: str, include_input: bool) -> Any:
    scored = next(predict_frames(shipped.load(), iter([frame]), output_column=output_column,
                                 include_input=include_input))
    scored.index = frame.index  # keep the partition's index, so divisions stay valid
    return scored


def dask_predict(
    ddf: Any,
    model_uri: str | os.PathLike[str],
    *,
    output_column: str = "prediction",
    include_input: bool = True,
    client: LockgateClient | None = None,
) -> Any:
    """A lazy ``dask.dataframe`` of ``ddf``'s rows with the model's predictions attached.

    Each partition is scored exactly as ``predict_batch`` scores a chunk (signature checks and
    conversions, one ``output_column`` or ``<output_column>_<i>`` per output). The model is
    resolved once here (``client`` names the tracking server a ``models:/`` URI refers to),
    shipped to the workers as one task result, and loaded once per worker process.
    Missing signature columns raise InvalidArgument here, before anything runs.
    """
    dask = import_extra("dask", extra="dask", feature="dask_predict")
    import_extra("dask.dataframe", extra="dask", feature="dask_predict")
    model, shipped = ship_model(model_uri, client=client)
    check_columns(model, [str(c) for c in ddf.columns], engine="Dask")
    # Score a couple of rows here: a type mismatch fails now, and the output gives dask its meta.
    sample = ddf.head(2, npartitions=1, compute=True)
    meta = _score_partition(sample, shipped, output_column, include_input).iloc[:0]
    return ddf.map_partitions(_score_partition, dask.delayed(shipped, pure=True), output_column,
                              include_input, meta=meta)
