"""Keras 3 autologging on a real tiny model (torch backend): params, epoch histories, the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import lockgate
import numpy as np
import pytest
from lockgate.entities import RunStatus


def _model(hidden: int = 6) -> Any:
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hidden, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_fit_logs_params_epoch_histories_and_a_model_that_predicts(iris) -> None:  # type: ignore[no-untyped-def]
    x, y = iris
    x = x.to_numpy(dtype="float32")
    lockgate.keras.autolog()
    model = _model()
    callbacks: list[Any] = []
    history = model.fit(x, y.to_numpy(), epochs=3, batch_size=50, validation_split=0.2,
                        callbacks=callbacks, verbose=0)
    assert isinstance(history, keras.callbacks.History) and callbacks == []  # the user's list untouched

    run = lockgate.last_active_run()
    assert run is not None and run.info.status == RunStatus.FINISHED
    assert run.data.tags["lockgate.autologging"] == "keras"
    params = run.data.params
    assert (params["epochs"], params["batch_size"], params["validation_split"]) == ("3", "50", "0.2")
    assert (params["optimizer_name"], params["optimizer_learning_rate"]) == ("Adam", "0.05")
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        points = lockgate.get_metric_history(run.info.run_id, key)
        assert [p.step for p in points] == [0, 1, 2]
        np.testing.assert_allclose([p.value for p in points], history.history[key], rtol=1e-6)

    artifacts = {f.path for f in lockgate.list_artifacts(run_id=run.info.run_id)}
    assert {"model", "model_summary.txt"} <= artifacts
    summary = lockgate.LockgateClient().download_artifacts(run.info.run_id, "model_summary.txt")
    text = Path(summary).read_text()
    assert "Trainable params: 51" in text and "\x1b[" not in text  # 4*6+6 + 6*3+3, no terminal colours
    loaded = lockgate.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert loaded.signature is not None
    assert loaded.metadata.signature.inputs.inputs[0].shape == (-1, 4)  # type: ignore[union-attr]
    np.testing.assert_allclose(loaded.predict(x[:7]), model.predict(x[:7], verbose=0), rtol=1e-6)
    np.testing.assert_allclose(loaded.input_example(), x[:5])


def test_every_n_steps_and_log_models_off(iris) -> None:  # type: ignore[no-untyped-def]
    x, y = iris
    lockgate.keras.autolog(log_models=False, log_every_n_steps=2)
    with lockgate.start_run() as active:  # an active run is logged into
        _model().fit(x.to_numpy(), y.to_numpy(), epochs=2, batch_size=30, verbose=0)  # 5 batches/epoch
    steps = lockgate.get_metric_history(active.info.run_id, "loss_step")
    assert [p.step for p in steps] == [2, 4, 6, 8, 10]
    run = lockgate.get_run(active.info.run_id)
    assert "lockgate.autologging" not in run.data.tags
    assert "model" not in {f.path for f in lockgate.list_artifacts(run_id=active.info.run_id)}


def test_a_fit_that_raises_fails_the_run_and_propagates(iris) -> None:  # type: ignore[no-untyped-def]
    x, y = iris
    lockgate.keras.autolog()

    class Diverged(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if epoch == 1:
                raise FloatingPointError(f"loss is nan at epoch {epoch}")

    with pytest.raises(FloatingPointError, match="loss is nan at epoch 1"):
        _model().fit(x.to_numpy(), y.to_numpy(), epochs=3, verbose=0, callbacks=[Diverged()])
    run = lockgate.last_active_run()
    assert run is not None and run.info.status == RunStatus.FAILED
    assert run.data.params["epochs"] == "3"
    assert [p.step for p in lockgate.get_metric_history(run.info.run_id, "loss")] == [0]


def test_disable_leaves_fit_alone(iris) -> None:  # type: ignore[no-untyped-def]
    x, y = iris
    lockgate.keras.autolog()
    lockgate.keras.autolog(disable=True)
    _model().fit(x.to_numpy(), y.to_numpy(), epochs=1, verbose=0)
    assert lockgate.last_active_run() is None
