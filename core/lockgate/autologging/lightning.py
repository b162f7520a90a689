"""PyTorch Lightning autologging: hyperparameters, metrics per epoch (and step), the model.

Patched: ``Trainer.fit`` of ``lightning.pytorch`` and ``pytorch_lightning``. For the call a
callback rides on the trainer: the module's ``hparams``, ``max_epochs`` and the optimizer's
settings become params; ``trainer.callback_metrics`` is recorded at every epoch end (step =
epoch) and, with ``log_every_n_step=N``, what each Nth training step logged (step = global
step). The trained module is logged with ``lockgate.pytorch.log_model``, and with
``checkpoint=True`` the best checkpoint file of the trainer's ``ModelCheckpoint`` under
``checkpoints/``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from lockgate.autologging.patching import Call, patch
from lockgate.autologging.session import TrainingSession

__all__ = ["install"]


def _scalars(metrics: Any, *, drop_suffix: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for key, value in dict(metrics).items():
        if key.endswith(drop_suffix):
            continue
        try:
            found[key] = float(value.item() if hasattr(value, "item") else value)
        except (TypeError, ValueError, RuntimeError):
            continue  # a tensor with several values is not a metric point
    return found


def _model(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[1] if len(args) > 1 else kwargs.get("model")


def _callback_class(callback_base: type) -> type:
    class _Recorder(callback_base):  # type: ignore[misc, valid-type]
        def __init__(self, session: TrainingSession) -> None:
            super().__init__()
            self.session = session
            self.every = session.config.option("log_every_n_step", None)

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            optimizers = trainer.optimizers
            if optimizers:
                optimizer = optimizers[0]
                params: dict[str, Any] = {"optimizer_name": type(optimizer).__name__}
                params.update({f"optimizer_{k}": v for k, v in optimizer.defaults.items()
                               if isinstance(v, (int, float, str, bool))})
                self.session.log_params(params)

        def on_train_batch_start(self, trainer: Any, pl_module: Any, *args: Any) -> None:
            if self.every:
                self.before_step = dict(trainer.callback_metrics)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
            if self.every and trainer.global_step % int(self.every) == 0:
                # Only what this step logged: values carried over from the last validation
                # epoch are the very same objects as before the batch.
                before = getattr(self, "before_step", {})
                fresh = {k: v for k, v in trainer.callback_metrics.items() if before.get(k) is not v}
                self.session.record_metrics(_scalars(fresh, drop_suffix="_epoch"),
                                            step=trainer.global_step)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            self.session.record_metrics(_scalars(trainer.callback_metrics, drop_suffix="_step"),
                                        step=trainer.current_epoch)

    return _Recorder


class _LightningHooks:
    def __init__(self, callback_base: type) -> None:
        self.recorder = _callback_class(callback_base)
        self.attached: dict[int, Any] = {}

    def before(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        trainer, module = args[0], _model(args, kwargs)
        params: dict[str, Any] = {"epochs": trainer.max_epochs}
        params.update(dict(getattr(module, "hparams", {}) or {}))
        session.log_params(params)
        recorder = self.recorder(session)
        trainer.callbacks.append(recorder)
        self.attached[id(session)] = recorder
        return args, kwargs

    def cleanup(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        recorder = self.attached.pop(id(session), None)
        if recorder is not None and recorder in args[0].callbacks:
            args[0].callbacks.remove(recorder)

    def after(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any],
              result: Any) -> None:
        from lockgate.models import pytorch as flavor

        trainer = args[0]
        if session.config.option("checkpoint", False):
            checkpoint = getattr(trainer, "checkpoint_callback", None)
            path = getattr(checkpoint, "best_model_path", "") if checkpoint is not None else ""
            if path:
                session.safely("log the best checkpoint", session.client.log_artifact,
                               session.run_id, path, "checkpoints")
        session.log_model(flavor.log_model, _model(args, kwargs), "model")


def install(lightning: ModuleType) -> None:
    """Patch ``Trainer.fit`` of the Lightning package just imported (once)."""
    package = importlib.import_module(
        "lightning.pytorch" if lightning.__name__ == "lightning" else "pytorch_lightning")
    patch(package.Trainer, "fit", integration="pytorch", hooks=_LightningHooks(package.Callback))
