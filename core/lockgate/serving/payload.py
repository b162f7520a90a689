"""MLflow's scoring protocol: request bodies in, ``{"predictions": ...}`` out.

JSON bodies carry exactly one of ``dataframe_split``, ``dataframe_records``, ``instances`` or
``inputs`` (plus optional ``params``); ``text/csv`` bodies are a CSV table with a header row.
Every malformed body raises InvalidArgument with a message saying what is wrong.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

from lockgate.errors import InvalidArgument

__all__ = ["INPUT_KEYS", "format_predictions", "parse_csv", "parse_json_payload", "parse_request"]

INPUT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def _loads(body: bytes) -> Any:
    try:
        import orjson  # several times faster on large bodies; optional
    except ImportError:
        return json.loads(body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)  # re-raise through json for one error type and message


def parse_csv(body: bytes) -> Any:
    """A DataFrame from a CSV body with a header row."""
    import pandas as pd

    if not body.strip():
        raise InvalidArgument("The request body is empty: send a CSV table with a header row.")
    try:
        return pd.read_csv(io.BytesIO(body))
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"The CSV body could not be parsed: {exc}") from None


def _frame_from_split(split: Any) -> Any:
    import pandas as pd

    if not isinstance(split, dict):
        raise InvalidArgument("'dataframe_split' must be an object with 'columns' and 'data'.")
    unknown = set(split) - {"columns", "data", "index"}
    if unknown:
        raise InvalidArgument(f"'dataframe_split' has unknown key(s) {sorted(unknown)}.")
    data = split.get("data")
    columns = split.get("columns")
    if not isinstance(data, list):
        raise InvalidArgument("'dataframe_split.data' must be a list of rows.")
    if not data:
        raise InvalidArgument("'dataframe_split.data' is empty: send at least one row.")
    if columns is not None and not isinstance(columns, list):
        raise InvalidArgument("'dataframe_split.columns' must be a list of column names.")
    width = len(columns) if columns is not None else None
    for position, row in enumerate(data):
        if not isinstance(row, list):
            raise InvalidArgument(f"'dataframe_split.data' row {position} is not a list.")
        if width is not None and len(row) != width:
            raise InvalidArgument(
                f"'dataframe_split.data' row {position} has {len(row)} values but there are "
                f"{width} columns."
            )
    try:
        return pd.DataFrame(data, columns=columns, index=split.get("index"))
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"'dataframe_split' does not form a table: {exc}") from None


def _frame_from_records(records: Any) -> Any:
    import pandas as pd

    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InvalidArgument("'dataframe_records' must be a list of objects (one per row).")
    if not records:
        raise InvalidArgument("'dataframe_records' is empty: send at least one row.")
    return pd.DataFrame.from_records(records)


def _tensor_input(value: Any, key: str) -> Any:
    import numpy as np

    if isinstance(value, dict):
        if not value:
            raise InvalidArgument(f"'{key}' is an empty object.")
        return {name: _array(v, f"{key}.{name}") for name, v in value.items()}
    if isinstance(value, list):
        if not value:
            raise InvalidArgument(f"'{key}' is empty: send at least one instance.")
        if all(isinstance(item, dict) for item in value):
            # row-oriented named tensors: [{"a": 1, "b": [..]}, ...] -> columns of arrays
            names = list(value[0])
            return {n: _array([item.get(n) for item in value], f"{key}.{n}") for n in names}
        return _array(value, key)
    if isinstance(value, (int, float, str, bool)):
        return np.asarray([value])
    raise InvalidArgument(f"'{key}' must be a list or an object of lists.")


def _array(value: Any, label: str) -> Any:
    import numpy as np

    try:
        array = np.asarray(value)
    except ValueError as exc:
        raise InvalidArgument(f"'{label}' is not a rectangular array: {exc}") from None
    if array.dtype == object and array.ndim >= 1 and any(isinstance(v, list) for v in array.ravel()[:50]):
        raise InvalidArgument(f"'{label}' is not a rectangular array (rows of different lengths).")
    return array


def parse_json_payload(payload: Any) -> tuple[Any, dict[str, Any] | None]:
    """``(model_input, params)`` from a decoded JSON body."""
    if not isinstance(payload, dict):
        raise InvalidArgument(
            f"The JSON body must be an object with one of {list(INPUT_KEYS)}, "
            f"not a {type(payload).__name__}."
        )
    present = [key for key in INPUT_KEYS if key in payload]
    if not present:
        raise InvalidArgument(
            f"The JSON body has none of the input keys {list(INPUT_KEYS)}; "
            f"it has {sorted(payload) or 'no keys'}."
        )
    if len(present) > 1:
        raise InvalidArgument(f"The JSON body has several input keys {present}; send exactly one.")
    unknown = set(payload) - set(INPUT_KEYS) - {"params"}
    if unknown:
        raise InvalidArgument(f"The JSON body has unknown key(s) {sorted(unknown)}.")
    params = payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise InvalidArgument("'params' must be an object of parameter names to values.")
    key = present[0]
    value = payload[key]
    if key == "dataframe_split":
        return _frame_from_split(value), params
    if key == "dataframe_records":
        return _frame_from_records(value), params
    return _tensor_input(value, key), params


def parse_request(body: bytes, content_type: str | None) -> tuple[Any, dict[str, Any] | None]:
    """``(model_input, params)`` from a raw request body and its Content-Type."""
    kind = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if kind == "text/csv":
        return parse_csv(body), None
    if kind != "application/json":
        error = InvalidArgument(
            f"Unsupported Content-Type {kind!r}: send application/json or text/csv."
        )
        error.details["status"] = 415
        raise error
    if not body.strip():
        raise InvalidArgument(
            f"The request body is empty: send a JSON object with one of {list(INPUT_KEYS)}."
        )
    try:
        payload = _loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"The request body is not valid JSON: {exc}") from None
    return parse_json_payload(payload)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def format_predictions(predictions: Any) -> Any:
    """A JSON-ready form of what a model returned (DataFrame as records, arrays as lists)."""
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        return json.loads(predictions.to_json(orient="records", date_format="iso"))
    if isinstance(predictions, pd.Series):
        return json.loads(predictions.to_json(orient="values", date_format="iso"))
    if isinstance(predictions, np.ndarray):
        if predictions.dtype.kind == "f" and not np.isfinite(predictions).all():
            return [_clean(v) for v in predictions.tolist()] if predictions.ndim == 1 else \
                json.loads(pd.DataFrame(predictions).to_json(orient="values"))
        return predictions.tolist()
    if isinstance(predictions, dict):
        return {str(k): format_predictions(v) for k, v in predictions.items()}
    if isinstance(predictions, (list, tuple)):
        return [format_predictions(v) for v in predictions]
    if isinstance(predictions, np.generic):
        return _clean(predictions.item())
    try:
        import torch

        if isinstance(predictions, torch.Tensor):
            return predictions.detach().cpu().numpy().tolist()
    except ImportError:
        pass
    return _clean(predictions)
