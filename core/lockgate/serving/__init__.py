"""Serving: the /invocations scoring app and batch prediction over files."""

from __future__ import annotations

__all__ = ["create_scoring_app", "predict_batch"]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name == "create_scoring_app":
        from lockgate.serving.app import create_scoring_app

        return create_scoring_app
    if name == "predict_batch":
        from lockgate.serving.batch import predict_batch

        return predict_batch
    raise AttributeError(name)
