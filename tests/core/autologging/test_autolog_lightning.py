"""PyTorch Lightning autologging on a real tiny model: hparams, epoch/step histories, the model."""

from __future__ import annotations

import lockgate
import numpy as np
import pytest
import torch
from lightning_support import IrisClassifier, iris_loaders, trainer
from lockgate.entities import RunStatus


def test_fit_logs_hparams_metrics_per_epoch_checkpoint_and_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lockgate.pytorch.autolog(log_every_n_step=1, checkpoint=True)
    train, valid, features = iris_loaders()
    module = IrisClassifier(hidden=6)
    fit_trainer = trainer(3, str(tmp_path))
    callbacks_before = list(fit_trainer.callbacks)
    assert fit_trainer.fit(module, train, valid) is None
    assert fit_trainer.callbacks == callbacks_before  # autologging's callback rode along, then left

    run = lockgate.last_active_run()
    assert run is not None and run.info.status == RunStatus.FINISHED
    assert run.data.tags["lockgate.autologging"] == "pytorch"
    params = run.data.params
    assert (params["hidden"], params["lr"], params["epochs"]) == ("6", "0.05", "3")
    assert params["optimizer_name"] == "Adam"
    epochs = lockgate.get_metric_history(run.info.run_id, "val_acc")
    assert [m.step for m in epochs] == [0, 1, 2]
    assert epochs[-1].value == pytest.approx(float(fit_trainer.callback_metrics["val_acc"]))
    epoch_loss = lockgate.get_metric_history(run.info.run_id, "train_loss_epoch")
    assert [m.step for m in epoch_loss] == [0, 1, 2]
    steps = lockgate.get_metric_history(run.info.run_id, "train_loss_step")
    assert sorted({m.step for m in steps}) == [1, 2, 3, 4, 5, 6, 7, 8, 9]  # 3 batches x 3 epochs

    artifacts = {f.path for f in lockgate.list_artifacts(run_id=run.info.run_id)}
    assert {"model", "checkpoints"} <= artifacts
    (checkpoint,) = lockgate.list_artifacts("checkpoints", run_id=run.info.run_id)
    assert checkpoint.path.endswith(".ckpt")
    loaded = lockgate.pytorch.load_model(f"runs:/{run.info.run_id}/model")
    module.eval()
    with torch.no_grad():
        np.testing.assert_allclose(loaded(features[:5]).numpy(), module(features[:5]).numpy(), rtol=1e-6)


def test_fit_that_raises_fails_the_run_and_propagates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lockgate.autolog(log_models=False)
    train, _, _ = iris_loaders()

    class Broken(IrisClassifier):
        def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
            raise RuntimeError("diverged at step 0")

    fit_trainer = trainer(1, str(tmp_path))
    with pytest.raises(RuntimeError, match="diverged at step 0"):
        fit_trainer.fit(Broken(), train)
    run = lockgate.last_active_run()
    assert run is not None and run.info.status == RunStatus.FAILED
    assert run.data.params["hidden"] == "8"
    assert not any(type(cb).__name__ == "_Recorder" for cb in fit_trainer.callbacks)
