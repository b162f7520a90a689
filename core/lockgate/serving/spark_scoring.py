"""A PySpark pandas UDF that scores with a model: one load per executor process.

``predict = spark_udf(spark, "models:/churn@champion")`` then
``df.withColumn("score", predict(*df.columns))``. Columns named as strings reach the model
under their own names in its signature's order whatever order the call lists them in (each
column travels as its own Arrow array; a struct of them would cost a nested conversion per
batch); ``Column`` objects travel as one struct, its fields named as Spark names them. Called
with no columns, the signature's input columns are used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument
from lockgate.models.optional import import_extra
from lockgate.serving.shipped import ShippedModel, check_columns, ship_model

if TYPE_CHECKING:
    from lockgate.client import LockgateClient
    from lockgate.models.pyfunc import PyFuncModel

__all__ = ["spark_udf"]

_SCALARS = ("double", "float", "long", "integer", "int", "short", "string", "boolean")


def _predictions_series(predictions: Any, rows: int, *, is_array: bool) -> Any:
    """One value per row: a single output column, or every output of a row as an array."""
    import numpy as np
    import pandas as pd

    if isinstance(predictions, dict):
        predictions = next(iter(predictions.values())) if len(predictions) == 1 else pd.DataFrame(
            {k: np.asarray(v).reshape(rows, -1)[:, 0] for k, v in predictions.items()})
    if isinstance(predictions, pd.DataFrame):
        if is_array:
            return pd.Series(list(predictions.to_numpy()))
        if len(predictions.columns) != 1:
            raise InvalidArgument(
                f"The model returns {len(predictions.columns)} columns {list(predictions.columns)}; "
                "use result_type='array<double>' to get them all."
            )
        return predictions.iloc[:, 0].reset_index(drop=True)
    values = predictions.to_numpy() if isinstance(predictions, pd.Series) else np.asarray(predictions)
    if is_array:
        return pd.Series(list(values.reshape(rows, -1)))
    if values.ndim > 1 and values.shape[1:] != (1,):
        raise InvalidArgument(
            f"The model returns {values.shape[1:]} values per row; use result_type='array<double>'."
        )
    return pd.Series(values.reshape(rows))


def _input_frame(batch: Any, names: list[str] | None) -> Any:
    """The batch as the model's input: a struct arrives as a frame, columns as named series."""
    import pandas as pd

    if names is None:
        return batch
    series = (batch,) if isinstance(batch, pd.Series) else batch
    return pd.DataFrame(dict(zip(names, series, strict=True)))


def _score_batches(batches: Iterator[Any], shipped: ShippedModel, is_array: bool,
                   names: list[str] | None = None) -> Iterator[Any]:
    model = shipped.load()
    for batch in batches:
        frame = _input_frame(batch, names)
        yield _predictions_series(model.predict(frame), len(frame), is_array=is_array)


def _result_type(result_type: Any) -> tuple[Any, bool]:
    types = import_extra("pyspark.sql.types", extra="spark", feature="spark_udf")
    if isinstance(result_type, types.DataType):
        parsed = result_type
    else:
        text = str(result_type).strip().lower().replace(" ", "")
        names = {"double": types.DoubleType(), "float": types.FloatType(), "long": types.LongType(),
                 "integer": types.IntegerType(), "int": types.IntegerType(), "short": types.ShortType(),
                 "string": types.StringType(), "boolean": types.BooleanType()}
        if text in names:
            parsed = names[text]
        elif text.startswith("array<") and text.endswith(">") and text[6:-1] in names:
            parsed = types.ArrayType(names[text[6:-1]])
        else:
            raise InvalidArgument(
                f"result_type {result_type!r} is not supported: use one of {list(_SCALARS)} "
                "or array<...> of them."
            )
    is_array = isinstance(parsed, types.ArrayType)
    if not is_array and parsed.typeName() not in _SCALARS:
        raise InvalidArgument(f"result_type {parsed.simpleString()} is not supported.")
    return parsed, is_array


def _columns_to_send(model: PyFuncModel, names: list[str]) -> list[str]:
    """The named columns the model will read, in its signature's order.

    A column-based signature with names reads only its own columns (the schema check drops
    the rest), so those alone cross from the JVM; without one, every column goes, in call order.
    """
    schema = model.metadata.get_input_schema()
    unique = list(dict.fromkeys(names))
    if schema is None or schema.is_tensor or not schema.has_names:
        return unique
    given = set(unique)
    return [name for name in schema.names() if name in given]


def spark_udf(
    spark: Any,
    model_uri: str | os.PathLike[str],
    *,
    result_type: Any = "double",
    client: LockgateClient | None = None,
) -> Any:
    """A function of columns (names or ``Column`` objects) returning the predictions column.

    The model is resolved once on the driver (``client`` names the tracking server a
    ``models:/`` URI refers to) and shipped with the UDF; each executor process loads it on
    its first batch and keeps it. ``result_type`` is a Spark type or its name (``double``,
    ``long``, ``string``, ``array<double>`` ...). Missing signature columns named as strings
    raise InvalidArgument at call time, before any job runs.
    """
    functions = import_extra("pyspark.sql.functions", extra="spark", feature="spark_udf")
    if spark is None or not hasattr(spark, "createDataFrame"):
        raise InvalidArgument("spark_udf needs the SparkSession as its first argument.")
    parsed, is_array = _result_type(result_type)
    model, shipped = ship_model(model_uri, client=client)
    schema = model.metadata.get_input_schema()
    import typing

    import pandas as pd

    def score_struct(batches: Any) -> Any:
        return _score_batches(batches, shipped, is_array)

    score_struct.__annotations__ = {"batches": Iterator[pd.DataFrame], "return": Iterator[pd.Series]}
    struct_udf = functions.pandas_udf(score_struct, returnType=parsed)

    def named_udf(names: list[str]) -> Any:
        def score_columns(batches: Any) -> Any:
            return _score_batches(batches, shipped, is_array, names)

        # PySpark reads the UDF's kind from these hints (one series per column); typing.Tuple,
        # not tuple: older PySpark releases match the hint by the name "Tuple".
        score_columns.__annotations__ = {"batches": Iterator[typing.Tuple[pd.Series, ...]],  # noqa: UP006
                                         "return": Iterator[pd.Series]}
        return functions.pandas_udf(score_columns, returnType=parsed)

    def predict(*columns: Any) -> Any:
        if not columns:
            if schema is None or not schema.has_names:
                raise InvalidArgument("This model has no column signature: pass the columns to score.")
            columns = tuple(schema.names())
        if all(isinstance(c, str) for c in columns):
            check_columns(model, list(columns), engine="Spark")
            names = _columns_to_send(model, list(columns))
            if not names:
                wanted = schema.names() if schema else []
                raise InvalidArgument(f"None of the columns {list(columns)} is in the model's signature {wanted}.")
            return named_udf(names)(*names)
        return struct_udf(functions.struct(*columns))

    predict.__doc__ = f"The predictions of {os.fspath(model_uri)!r} for the given columns."
    return predict
