"""Model signatures in MLflow's schema format: inferred from examples, enforced on predict.

A signature lists the model's inputs (named columns or tensors), outputs and params. It is
stored in the ``MLmodel`` file exactly as MLflow stores it (JSON strings under ``signature``),
so signatures written by either tool are read by both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

from lockgate.errors import InvalidArgument

__all__ = [
    "ColSpec",
    "ModelSignature",
    "Schema",
    "TensorSpec",
    "enforce_schema",
    "infer_schema",
    "infer_signature",
]

# MLflow column type -> numpy dtype used when a value must be converted.
_COL_TYPES: dict[str, str] = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}


@dataclass(frozen=True)
class ColSpec:
    """One named (or positional) column of a given MLflow type."""

    type: str | dict[str, Any]
    name: str | None = None
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        if isinstance(self.type, dict):
            body = dict(self.type)
        else:
            body = {"type": self.type}
        if self.name is not None:
            body["name"] = self.name
        body["required"] = self.required
        return body


@dataclass(frozen=True)
class TensorSpec:
    """One tensor: numpy dtype and shape, ``-1`` for a free dimension."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.name is not None:
            body["name"] = self.name
        body["type"] = "tensor"
        body["tensor-spec"] = {"dtype": self.dtype, "shape": list(self.shape)}
        return body


Spec = ColSpec | TensorSpec


@dataclass(frozen=True)
class Schema:
    """An ordered list of column specs or tensor specs (never both)."""

    inputs: list[Spec] = field(default_factory=list)

    @property
    def is_tensor(self) -> bool:
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    @property
    def has_names(self) -> bool:
        return bool(self.inputs) and all(spec.name is not None for spec in self.inputs)

    def names(self) -> list[str]:
        return [spec.name for spec in self.inputs if spec.name is not None]

    def to_json(self) -> str:
        return json.dumps([spec.to_dict() for spec in self.inputs])

    @classmethod
    def from_json(cls, text: str | list[dict[str, Any]]) -> Schema:
        items = json.loads(text) if isinstance(text, str) else text
        specs: list[Spec] = []
        for item in items:
            if item.get("type") == "tensor":
                tensor = item["tensor-spec"]
                specs.append(TensorSpec(dtype=str(tensor["dtype"]), shape=tuple(tensor["shape"]),
                                        name=item.get("name")))
            else:
                kind: str | dict[str, Any] = item["type"]
                if kind not in _COL_TYPES:
                    # Array/object/map/any columns: keep the JSON as is for round-tripping.
                    kind = {k: v for k, v in item.items() if k not in ("name", "required")}
                specs.append(ColSpec(type=kind, name=item.get("name"),
                                     required=bool(item.get("required", True))))
        return cls(specs)


@dataclass(frozen=True)
class ModelSignature:
    """What a model takes (inputs, params) and returns (outputs)."""

    inputs: Schema | None = None
    outputs: Schema | None = None
    params: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The ``signature`` mapping of an MLmodel file (JSON strings, as MLflow writes it)."""
        params = self.params
        if params is not None and not isinstance(params, str):
            params = json.dumps(params)
        return {
            "inputs": self.inputs.to_json() if self.inputs is not None else None,
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": params,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSignature:
        """Read the ``signature`` mapping of an MLmodel file."""
        inputs = data.get("inputs")
        outputs = data.get("outputs")
        return cls(
            inputs=Schema.from_json(inputs) if inputs else None,
            outputs=Schema.from_json(outputs) if outputs else None,
            params=data.get("params"),
        )


# -- inference ---------------------------------------------------------------------------------

def _col_type_of_series(series: Any) -> str:
    import numpy as np
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer" if np.dtype(dtype).itemsize <= 4 else "long"
    if pd.api.types.is_float_dtype(dtype):
        return "float" if np.dtype(dtype).itemsize <= 4 else "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype) or dtype == object:
        values = series.dropna()
        if len(values) == 0:
            return "string"
        first = values.iloc[0]
        if isinstance(first, (bytes, bytearray)):
            return "binary"
        if (isinstance(first, str) or isinstance(dtype, pd.CategoricalDtype)) and all(
            isinstance(v, str) for v in values.iloc[:1000]
        ):
            return "string"
        if isinstance(first, (bool, np.bool_)):
            return "boolean"
        if isinstance(first, (int, np.integer)):
            return "long"
        if isinstance(first, (float, np.floating)):
            return "double"
        raise InvalidArgument(
            f"Cannot infer a signature type for column {series.name!r}: values of type "
            f"{type(first).__name__} are not supported; pass signature= explicitly."
        )
    raise InvalidArgument(f"Cannot infer a signature type for column {series.name!r} ({dtype}).")


def _tensor_spec(array: Any, name: str | None = None) -> TensorSpec:
    import numpy as np

    arr = np.asarray(array)
    if arr.dtype == object:
        raise InvalidArgument(f"Cannot infer a tensor spec for {name or 'input'}: object dtype.")
    shape = (-1, *arr.shape[1:]) if arr.ndim else ()
    return TensorSpec(dtype=str(arr.dtype), shape=tuple(int(s) for s in shape), name=name)


def infer_schema(data: Any) -> Schema:
    """The schema of a pandas DataFrame/Series, numpy array, dict, list or scalar."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return Schema([ColSpec(_col_type_of_series(data[c]), name=str(c)) for c in data.columns])
    if isinstance(data, pd.Series):
        return Schema([ColSpec(_col_type_of_series(data), name=None)])
    if isinstance(data, np.ndarray):
        if data.ndim == 1 and data.dtype != object:
            return Schema([ColSpec(_col_type_of_series(pd.Series(data)))])
        return Schema([_tensor_spec(data)])
    if isinstance(data, dict):
        if data and all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema([_tensor_spec(v, name=str(k)) for k, v in data.items()])
        return infer_schema(_dict_to_frame(data))
    if isinstance(data, list):
        if data and all(isinstance(row, dict) for row in data):
            return infer_schema(pd.DataFrame(data))
        return infer_schema(np.asarray(data) if data and not isinstance(data[0], str)
                            else pd.Series(data))
    if isinstance(data, (str, int, float, bool, np.generic)):
        return infer_schema(pd.Series([data]))
    try:
        import torch

        if isinstance(data, torch.Tensor):
            return Schema([_tensor_spec(data.detach().cpu().numpy())])
    except ImportError:
        pass
    raise InvalidArgument(f"Cannot infer a schema from {type(data).__name__}.")


def _dict_to_frame(data: dict[str, Any]) -> Any:
    import pandas as pd

    if all(not isinstance(v, (list, tuple)) and getattr(v, "ndim", 0) == 0 for v in data.values()):
        return pd.DataFrame([data])
    return pd.DataFrame(data)


def infer_signature(model_input: Any, model_output: Any = None, params: dict[str, Any] | None = None) -> ModelSignature:
    """A signature from an example input and, optionally, the model's output on it."""
    inputs = infer_schema(model_input)
    outputs = infer_schema(model_output) if model_output is not None else None
    param_schema = None
    if params:
        param_schema = [
            {"name": k, "type": _param_type(v), "default": v, "shape": None} for k, v in params.items()
        ]
    return ModelSignature(inputs=inputs, outputs=outputs, params=param_schema)


def _param_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    return "string"


# -- enforcement -------------------------------------------------------------------------------

def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _convert_column(series: Any, spec: ColSpec, label: str) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(spec.type, dict):
        return series  # array/object/map columns are passed through unchecked
    expected = spec.type
    dtype = series.dtype

    def fail(reason: str) -> InvalidArgument:
        return InvalidArgument(
            f"Column {label} expects type {expected!r} but {reason}.",
            details={"column": spec.name, "expected_type": expected, "actual_dtype": str(dtype)},
        )

    if expected in ("double", "float"):
        if pd.api.types.is_bool_dtype(dtype):
            raise fail("got booleans")
        if pd.api.types.is_numeric_dtype(dtype):
            target = _COL_TYPES[expected]
            return series if dtype == target else series.astype(target)
        try:
            return pd.to_numeric(series, errors="raise").astype(_COL_TYPES[expected])
        except (ValueError, TypeError):
            bad = next((v for v in series.dropna() if not _is_number(v)), None)
            raise fail(f"got {type(bad).__name__} value {_describe(bad)}") from None
    values = series.dropna()
    if expected in ("long", "integer"):
        if pd.api.types.is_bool_dtype(dtype):
            raise fail("got booleans")
        if pd.api.types.is_integer_dtype(dtype):
            return series.astype(_COL_TYPES[expected]) if expected == "integer" else series
        if series.isna().any():
            raise fail("got missing values")
        if pd.api.types.is_float_dtype(dtype):
            if not np.all(np.mod(values.to_numpy(), 1) == 0):
                bad = next(v for v in values if v % 1 != 0)
                raise fail(f"got non-integer value {_describe(bad)}")
            return series.astype(_COL_TYPES[expected])
        bad = next((v for v in values if not isinstance(v, (int, np.integer)) or isinstance(v, bool)), None)
        if bad is not None:
            raise fail(f"got {type(bad).__name__} value {_describe(bad)}")
        return series.astype(_COL_TYPES[expected])
    if expected == "boolean":
        if pd.api.types.is_bool_dtype(dtype):
            return series
        bad = next((v for v in values if not isinstance(v, (bool, np.bool_))), None)
        if bad is not None:
            raise fail(f"got {type(bad).__name__} value {_describe(bad)}")
        return series.astype(bool)
    if expected == "string":
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            return series
        bad = next((v for v in values if not isinstance(v, str)), None)
        if bad is not None:
            raise fail(f"got {type(bad).__name__} value {_describe(bad)}")
        return series
    if expected == "binary":
        bad = next((v for v in values if not isinstance(v, (bytes, bytearray, str))), None)
        if bad is not None:
            raise fail(f"got {type(bad).__name__} value {_describe(bad)}")
        return series
    if expected == "datetime":
        try:
            return pd.to_datetime(series)
        except (ValueError, TypeError):
            raise fail("got values that are not dates/times") from None
    return series


def _is_number(value: Any) -> bool:
    import numpy as np

    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.number)):
        return True
    if isinstance(value, str):
        try:
            float(value)
            return True
        except ValueError:
            return False
    return False


def _to_frame(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, dict):
        return _dict_to_frame(data)
    if isinstance(data, list):
        if data and all(isinstance(row, dict) for row in data):
            return pd.DataFrame(data)
        data = np.asarray(data, dtype=object) if data else np.empty((0, len(schema.inputs)))
    if isinstance(data, np.ndarray):
        if data.ndim == 1:
            data = data.reshape(-1, 1) if len(schema.inputs) == 1 else data.reshape(1, -1)
        if data.ndim != 2 or data.shape[1] != len(schema.inputs):
            raise InvalidArgument(
                f"Input of shape {data.shape} does not match the signature's "
                f"{len(schema.inputs)} columns {schema.names() or ''}."
            )
        names = schema.names() if schema.has_names else list(range(data.shape[1]))
        return pd.DataFrame(data, columns=names)
    raise InvalidArgument(f"Model input must be a DataFrame, dict, list or array, not {type(data).__name__}.")


def _enforce_columns(data: Any, schema: Schema) -> Any:
    frame = _to_frame(data, schema)
    # Only column-based schemas reach here; tensor schemas are enforced elsewhere.
    specs = cast("list[ColSpec]", schema.inputs)
    if len(frame.columns) == 0 or (len(frame) == 0 and not len(frame.columns)):
        raise InvalidArgument("The model input is empty: it has no columns.")
    if schema.has_names:
        present = {str(c): c for c in frame.columns}
        missing = [spec for spec in specs if spec.name not in present and spec.required]
        if missing:
            described = ", ".join(f"{s.name!r} ({_type_name(s)})" for s in missing)
            raise InvalidArgument(
                f"Model input is missing required column(s) {described}; it has "
                f"{list(present)}.",
                details={"missing_columns": [s.name for s in missing]},
            )
        out = {}
        unchanged = list(frame.columns) == [s.name for s in specs]
        for spec in specs:
            if spec.name in present:
                column = frame[present[spec.name]]
                converted = _convert_column(column, spec, repr(spec.name))
                unchanged = unchanged and converted is column
                out[spec.name] = converted
        if unchanged:
            return frame  # already the declared columns and types: no copy
        import pandas as pd

        return pd.DataFrame(out, index=frame.index)
    if len(frame.columns) != len(specs):
        raise InvalidArgument(
            f"Model input has {len(frame.columns)} columns but the signature expects {len(specs)}."
        )
    frame = frame.copy()
    for position, (column, spec) in enumerate(zip(frame.columns, specs)):
        frame[column] = _convert_column(frame[column], spec, f"at position {position}")
    return frame


def _type_name(spec: Spec) -> str:
    if isinstance(spec, TensorSpec):
        return f"tensor {spec.dtype}{list(spec.shape)}"
    return spec.type if isinstance(spec.type, str) else str(spec.type.get("type"))


def _enforce_tensor(array: Any, spec: TensorSpec) -> Any:
    import numpy as np

    label = f"tensor {spec.name!r}" if spec.name else "the input tensor"
    try:
        arr = np.asarray(array)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"Cannot read {label} as an array: {exc}.") from None
    expected = np.dtype(spec.dtype)
    if arr.dtype != expected:
        if arr.dtype == object or not np.can_cast(arr.dtype, expected, casting="same_kind"):
            raise InvalidArgument(
                f"{label[0].upper() + label[1:]} expects dtype {spec.dtype} but got {arr.dtype}.",
                details={"input": spec.name, "expected_type": spec.dtype, "actual_dtype": str(arr.dtype)},
            )
        arr = arr.astype(expected)
    if len(spec.shape) != arr.ndim or any(
        want != -1 and want != got for want, got in zip(spec.shape, arr.shape)
    ):
        raise InvalidArgument(
            f"{label[0].upper() + label[1:]} expects shape {list(spec.shape)} but got {list(arr.shape)}."
        )
    return arr


def enforce_schema(data: Any, schema: Schema) -> Any:
    """``data`` checked and converted to the schema, or InvalidArgument naming what is wrong."""
    import pandas as pd

    if data is None:
        raise InvalidArgument("The model input is empty.")
    if not schema.inputs:
        return data
    if schema.is_tensor:
        if schema.has_names and len(schema.inputs) > 1:
            if isinstance(data, pd.DataFrame):
                data = {c: data[c].to_numpy() for c in data.columns}
            if not isinstance(data, dict):
                raise InvalidArgument(
                    f"The model takes named tensors {schema.names()}; pass a dict of arrays."
                )
            missing = [n for n in schema.names() if n not in data]
            if missing:
                raise InvalidArgument(f"Model input is missing tensor(s) {missing}.")
            return {s.name: _enforce_tensor(data[s.name], s) for s in schema.inputs  # type: ignore[misc]
                    if isinstance(s, TensorSpec)}
        spec = schema.inputs[0]
        assert isinstance(spec, TensorSpec)
        if isinstance(data, dict) and spec.name in data:
            data = data[spec.name]
        if isinstance(data, pd.DataFrame):
            data = data.to_numpy()
        return _enforce_tensor(data, spec)
    return _enforce_columns(data, schema)
