"""A request body read the way MLflow's server reads it, so the MLflow surface accepts exactly
what ``mlflow server`` accepts and stores what it stores.

MLflow parses a JSON body with protobuf's JSON rules, field by field in the body's order. When
one field cannot be read (a non-integral or out-of-range int64, NaN or infinity as a bare JSON
number, a string where a number belongs), protobuf stops: the fields read before it keep their
values and every later field keeps its default (0, "", unset). MLflow's handler then checks the
raw JSON: required fields always, and types only when parsing stopped early. So
``{"timestamp": 1.5, "step": 3}`` is stored as timestamp 0 and step 0, not refused; a run
status MLflow does not know is ignored; a null value is an unset one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["LOG_BATCH", "LOG_METRIC", "LOG_PARAM", "SET_TAG", "UPDATE_RUN", "read_like_mlflow"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_RUN_STATUS = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
_STATUS_NAME = {number: name for name, number in _RUN_STATUS.items()}


class _Stop(Exception):
    """Protobuf could not read this field: it and every later field keep their defaults."""


class _Ignore(Exception):
    """An enum name protobuf does not know: the field stays unset, parsing goes on."""


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Stop
    return value


def _int64(value: Any) -> int:
    if isinstance(value, bool):
        raise _Stop
    if isinstance(value, float):
        if not value.is_integer():
            raise _Stop
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and " " not in value:
        try:
            number = int(value)
        except ValueError:
            try:
                as_float = float(value)
            except ValueError:
                raise _Stop from None
            if not as_float.is_integer():
                raise _Stop from None
            number = int(as_float)
    else:
        raise _Stop
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise _Stop
    return number


def _double(value: Any) -> float:
    if isinstance(value, float) and not math.isfinite(value):
        raise _Stop  # protobuf wants "NaN" and "Infinity" quoted
    if value == "nan" or not isinstance(value, (int, float, str)):
        raise _Stop
    try:
        return float(value)
    except (ValueError, OverflowError):
        raise _Stop from None


def _run_status(value: Any) -> str:
    if isinstance(value, str) and value in _RUN_STATUS:
        return value
    try:
        number = int(value)
    except ValueError:
        raise _Ignore from None
    except TypeError:
        raise _Stop from None
    if number not in _STATUS_NAME:
        raise _Stop
    return _STATUS_NAME[number]


Spec = Mapping[str, Any]  # field name -> a converter, or a Spec in a 1-tuple for a repeated message

_KEY_VALUE: Spec = {"key": _string, "value": _string}
_METRIC: Spec = {"key": _string, "value": _double, "timestamp": _int64, "step": _int64, "run_id": _string,
                 "model_id": _string, "dataset_name": _string, "dataset_digest": _string}
_RUN: Spec = {"run_id": _string, "run_uuid": _string}
LOG_METRIC: Spec = {**_RUN, **_METRIC}
LOG_PARAM: Spec = {**_RUN, **_KEY_VALUE}
SET_TAG: Spec = {**_RUN, **_KEY_VALUE}
UPDATE_RUN: Spec = {**_RUN, "status": _run_status, "end_time": _int64, "run_name": _string}
LOG_BATCH: Spec = {**_RUN, "metrics": (_METRIC,), "params": (_KEY_VALUE,), "tags": (_KEY_VALUE,)}


def _read(body: Mapping[str, Any], spec: Spec, out: dict[str, Any]) -> None:
    """Fill ``out`` with what protobuf reads from ``body``; raise _Stop where it stops."""
    for name, value in body.items():
        kind = spec.get(name)
        if kind is None:
            continue  # unknown fields are ignored, as MLflow's parser is told to
        if value is None:
            out.pop(name, None)
            continue
        if isinstance(kind, tuple):
            if not isinstance(value, list):
                raise _Stop
            items: list[dict[str, Any]] = []
            out[name] = items
            for item in value:
                if type(item) is not dict and not isinstance(item, Mapping):
                    raise _Stop
                element: dict[str, Any] = {}
                items.append(element)  # protobuf adds the element before reading it
                _read_element(item, kind[0], element)
            continue
        try:
            out[name] = kind(value)
        except _Ignore:
            out.pop(name, None)


def _read_element(item: Mapping[str, Any], spec: Spec, out: dict[str, Any]) -> None:
    """One entry of a batch (flat fields only): values already of protobuf's own type are taken
    as they are, which is the common case and keeps a 1000-metric batch cheap."""
    for name, value in item.items():
        kind = spec.get(name)
        if kind is None or value is None:
            continue
        kind_of_value = type(value)
        already_read = (
            (kind_of_value is str and kind is _string)
            or (kind_of_value is float and kind is _double and value - value == 0.0)  # finite
            or (kind_of_value is int and kind is _int64 and _INT64_MIN <= value <= _INT64_MAX)
        )
        out[name] = value if already_read else kind(value)


# MLflow's handler checks on the raw JSON (mlflow/server/handlers.py schemas).
def _present(value: Any) -> bool:
    return value is not None and value != ""


def _intlike(value: Any) -> bool:
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            value = int(value)
        except (ValueError, OverflowError):
            pass
    return isinstance(value, int)


def _floatlike(value: Any) -> bool:
    if isinstance(value, (int, float, str)):
        try:
            value = float(value)
        except (ValueError, OverflowError):
            pass
    return isinstance(value, float)


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "int": _intlike,
    "float": _floatlike,
    "array": lambda v: isinstance(v, list),
}
_REQUIRED = "required"
_SCHEMAS: dict[int, dict[str, tuple[str, ...]]] = {
    id(LOG_METRIC): {"run_id": (_REQUIRED, "string"), "key": (_REQUIRED, "string"),
                     "value": (_REQUIRED, "float"), "timestamp": ("int", _REQUIRED), "step": ("int",),
                     "model_id": ("string",), "dataset_name": ("string",), "dataset_digest": ("string",)},
    id(LOG_PARAM): {"run_id": (_REQUIRED, "string"), "key": (_REQUIRED, "string"), "value": ("string",)},
    id(SET_TAG): {"run_id": (_REQUIRED, "string"), "key": (_REQUIRED, "string"), "value": ("string",)},
    id(UPDATE_RUN): {"run_id": (_REQUIRED, "string"), "end_time": ("int",), "status": ("string",),
                     "run_name": ("string",)},
    id(LOG_BATCH): {"run_id": ("string", _REQUIRED), "metrics": ("array",), "params": ("array",),
                    "tags": ("array",)},
}
_BATCH_REQUIRED = {"metrics": ("key", "value", "timestamp"), "params": ("key",), "tags": ("key",)}


def _check_raw(body: Mapping[str, Any], spec: Spec, *, parsed_fully: bool) -> None:
    for field, checks in _SCHEMAS[id(spec)].items():
        if field not in body and _REQUIRED not in checks:
            continue
        value = body.get(field)
        if field == "run_id" and value is None and "run_uuid" in body:
            value = body.get("run_uuid")
        for check in checks:
            if check == _REQUIRED:
                if not _present(value):
                    raise ValueError(f"Missing value for required parameter '{field}'.")
            elif not parsed_fully and not _TYPE_CHECKS[check](value):
                raise ValueError(f"Invalid value {value!r} for parameter '{field}': expected a {check}.")
        if field in _BATCH_REQUIRED and isinstance(value, list):
            required = _BATCH_REQUIRED[field]
            for index, item in enumerate(value):
                mapping = type(item) is dict or isinstance(item, Mapping)
                for name in required:
                    present = item.get(name) if mapping else None
                    if present is None or present == "":
                        raise ValueError(f"Missing value for required parameter '{field}[{index}].{name}'.")


def read_like_mlflow(body: Any, spec: Spec) -> Any:
    """The fields ``mlflow server`` would take from ``body`` (a JSON object) after its checks;
    ValueError (a 400 INVALID_PARAMETER_VALUE) where MLflow's handler refuses the request."""
    if not isinstance(body, Mapping):
        return body  # not an object: the model's own validation refuses it
    out: dict[str, Any] = {}
    try:
        _read(body, spec, out)
        parsed_fully = True
    except _Stop:
        parsed_fully = False
    _check_raw(body, spec, parsed_fully=parsed_fully)
    return out
