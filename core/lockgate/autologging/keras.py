"""Keras 3 autologging: ``fit``'s settings and the optimizer, metrics per epoch, the model.

Patched: ``Model.fit`` where the backend's trainer defines it (every ``keras.Model`` inherits
it). For the call a callback goes in with the user's callbacks (a new list: theirs is left as
it was): what Keras reports at each epoch end (``loss``, compiled metrics, ``val_*``) becomes a
history with step = epoch, and with ``log_every_n_steps=N`` what every Nth batch reports,
named ``<metric>_step`` with step = batches trained. The model is logged with
``lockgate.keras.log_model``: its signature from the model's input and output shapes (as
MLflow's autologging does) and the first rows of ``x`` as input example.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from lockgate.autologging.boosting import bind
from lockgate.autologging.patching import Call, patch
from lockgate.autologging.session import TrainingSession

__all__ = ["install"]

# fit() arguments that are data, callbacks or display settings rather than settings worth a param
_NOT_PARAMS = {"self", "x", "y", "callbacks", "validation_data", "verbose", "sample_weight"}
_EXAMPLE_ROWS = 5


def _scalars(logs: Any) -> dict[str, float]:
    found: dict[str, float] = {}
    for key, value in dict(logs or {}).items():
        try:
            found[str(key)] = float(value)
        except (TypeError, ValueError):
            continue  # a tensor with several values is not a metric point
    return found


def _optimizer_params(model: Any) -> dict[str, Any]:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return {}
    import numpy as np

    params: dict[str, Any] = {"optimizer_name": type(optimizer).__name__}
    for key, value in optimizer.get_config().items():
        if isinstance(value, float):
            # Keras keeps these in float32 variables: 0.05, not 0.05000000074505806
            params[f"optimizer_{key}"] = str(np.float32(value))
        elif isinstance(value, (int, str, bool)) and key != "name":
            params[f"optimizer_{key}"] = value
    return params


def _signature(model: Any) -> Any:
    """Tensor specs from the model's own shapes, ``None`` (the batch) as -1."""
    import numpy as np

    from lockgate.models.signature import ModelSignature, Schema, TensorSpec

    def schema(shapes: Any, dtype: Any) -> Schema:
        listed = shapes if isinstance(shapes, list) else [shapes]
        return Schema([TensorSpec(dtype=str(np.dtype(dtype)),
                                  shape=tuple(-1 if d is None else int(d) for d in shape))
                       for shape in listed])

    return ModelSignature(inputs=schema(model.input_shape, model.input_dtype),
                          outputs=schema(model.output_shape, model.compute_dtype))


def _head(x: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(x, pd.DataFrame):
        return x.iloc[:_EXAMPLE_ROWS]
    if isinstance(x, np.ndarray):
        return x[:_EXAMPLE_ROWS]
    return None  # datasets and generators: no example, the signature still comes from the model


def _callback_class(callback_base: type) -> type:
    class _Recorder(callback_base):  # type: ignore[misc, valid-type]
        def __init__(self, session: TrainingSession) -> None:
            super().__init__()
            self.session = session
            self.every = int(session.config.option("log_every_n_steps", None) or 0)
            self.batches = 0

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.batches += 1
            if self.every and self.batches % self.every == 0:
                metrics = {f"{k}_step": v for k, v in _scalars(logs).items()}
                self.session.record_metrics(metrics, step=self.batches)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.session.record_metrics(_scalars(logs), step=epoch)

    return _Recorder


class _KerasHooks:
    def __init__(self, keras: ModuleType, original: Any) -> None:
        self.original = original
        self.recorder = _callback_class(keras.callbacks.Callback)

    def before(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        bound = bind(self.original, args, kwargs)
        model = bound.arguments["self"]
        params = {k: v for k, v in bound.arguments.items() if k not in _NOT_PARAMS and v is not None}
        params.update(session.safely("read the optimizer settings", _optimizer_params, model) or {})
        session.log_params(params)
        bound.arguments["callbacks"] = [*(bound.arguments.get("callbacks") or []),
                                        self.recorder(session)]
        return bound.args, bound.kwargs

    def cleanup(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None  # nothing attached to the user's objects: the callback went in as an argument

    def after(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any],
              history: Any) -> None:
        from lockgate.models import keras as flavor

        model = args[0]
        lines: list[str] = []
        session.safely("summarize the model", model.summary, print_fn=lambda line, *a, **k: lines.append(line))
        if lines and session.run_id is not None:
            session.safely("log model_summary.txt", session.client.log_text, session.run_id,
                           "\n".join(lines), "model_summary.txt")
        if not session.config.log_models:
            return
        bound = bind(self.original, args, kwargs)
        example = _head(bound.arguments.get("x")) if session.config.log_input_examples else None
        signature = session.safely("read the model signature", _signature, model) \
            if session.config.log_model_signatures else None
        session.log_model(flavor.log_model, model, "model", input_example=example, signature=signature)


def install(keras: ModuleType) -> None:
    """Patch ``fit`` on the class that defines it for ``keras.Model`` (once)."""
    owner = next(cls for cls in keras.Model.__mro__ if "fit" in cls.__dict__)
    original = getattr(owner.__dict__["fit"], "__lockgate_autolog_original__", owner.__dict__["fit"])
    patch(owner, "fit", integration="keras", hooks=_KerasHooks(keras, original))
