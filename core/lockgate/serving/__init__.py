"""Serving: the /invocations scoring app (fixed, or following an alias) and batch prediction."""

from __future__ import annotations

__all__ = ["ModelFollower", "create_scoring_app", "predict_batch"]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name == "create_scoring_app":
        from lockgate.serving.app import create_scoring_app

        return create_scoring_app
    if name == "ModelFollower":
        from lockgate.serving.follow import ModelFollower

        return ModelFollower
    if name == "predict_batch":
        from lockgate.serving.batch import predict_batch

        return predict_batch
    raise AttributeError(name)
