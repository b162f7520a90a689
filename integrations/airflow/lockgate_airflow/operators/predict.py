"""``BatchPredictOperator``: score a file with a registered (or logged) model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lockgate_airflow.links import LockgateModelVersionLink, model_version_url, record_link
from lockgate_airflow.operators.base import LockgateOperatorMixin, rendered_name
from lockgate_airflow.version_compat import BaseOperator

__all__ = ["BatchPredictOperator"]

_MODEL_SCHEMES = ("models:/", "runs:/")


class BatchPredictOperator(LockgateOperatorMixin, BaseOperator):
    """Predict on ``input_path`` with ``model_uri`` and write ``output_path``; XCom: what was scored.

    The model URI is resolved when the task runs, so ``models:/churn@champion`` scores with
    whichever version holds the alias at that moment; the XCom value names it
    (``{"model_uri", "version", "output_path", "rows"}``). Rerunning overwrites the output.

    :param model_uri: ``models:/<name>@<alias>``, ``models:/<name>/<version>`` or ``runs:/<run_id>/<path>`` (templated).
    :param input_path: file to score: Parquet, CSV or JSON lines, local or any fsspec URL (templated).
    :param output_path: where predictions go; the format follows the extension (templated).
    :param engine: ``local`` (the worker's process), ``spark`` (the active SparkSession, or a
        local one; needs ``lockgate[spark]``) or ``dask`` (the Dask scheduler in force; needs
        ``lockgate[dask]``).
    :param predict_kwargs: further keyword arguments for ``lockgate.serving.engines.score_file``
        (``chunk_size``, ``progress`` ... for the local engine).
    :param lockgate_conn_id: the ``lockgate`` Airflow connection.
    """

    template_fields: Sequence[str] = ("model_uri", "input_path", "output_path")
    ui_color = "#e5e8f8"
    operator_extra_links = (LockgateModelVersionLink(),)

    def __init__(
        self,
        *,
        model_uri: str,
        input_path: str,
        output_path: str,
        engine: str = "local",
        predict_kwargs: Mapping[str, Any] | None = None,
        lockgate_conn_id: str = "lockgate_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_uri = model_uri
        self.input_path = input_path
        self.output_path = output_path
        self.engine = engine
        self.predict_kwargs = dict(predict_kwargs or {})
        self.lockgate_conn_id = lockgate_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        from lockgate.errors import InvalidArgument
        from lockgate.serving.engines import ENGINES

        if self.engine not in ENGINES:
            raise InvalidArgument(f"engine must be one of {list(ENGINES)}, not {self.engine!r}.")

        model_uri = rendered_name("model_uri", self.model_uri)
        if not model_uri.startswith(_MODEL_SCHEMES):
            raise InvalidArgument(
                f"model_uri rendered to {model_uri!r}: expected models:/<name>@<alias>, "
                "models:/<name>/<version> or runs:/<run_id>/<path>."
            )
        input_path = rendered_name("input_path", self.input_path)
        output_path = rendered_name("output_path", self.output_path)
        client = self.hook.get_conn()
        version: int | None = None
        if model_uri.startswith("models:/"):
            resolved = client.resolve_model_uri(model_uri)  # NotFound names the model/alias/version
            version = int(resolved.version)
            pinned = resolved.model_uri  # score with exactly the version resolved above
            record_link(self, LockgateModelVersionLink, model_version_url(client.tracking_uri, resolved.name, version))
        else:
            pinned = model_uri
        previous = self.hook.configure_fluent()
        try:
            from lockgate.serving.engines import score_file

            # The hook's client (its server and token) resolves the model and fetches its files.
            result = score_file(pinned, input_path, output_path, engine=self.engine, client=client,
                                **self.predict_kwargs)
        finally:
            self.hook.restore_fluent(previous)
        rows = _row_count(result)
        self.log.info("Scored %s rows of %s with %s (version %s, engine %s) into %s", rows, input_path,
                      model_uri, version, self.engine, output_path)
        return {"model_uri": model_uri, "version": version, "output_path": output_path, "rows": rows}


def _row_count(result: Any) -> int | None:
    for attr in ("rows", "num_rows", "row_count"):
        value = getattr(result, attr, None)
        if isinstance(value, int):
            return value
    if isinstance(result, Mapping):
        for key in ("rows", "num_rows", "row_count"):
            if isinstance(result.get(key), int):
                return int(result[key])
    if isinstance(result, int):
        return result
    return None
