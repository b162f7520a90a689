"""Helpers for the follow-mode tests and bench: register model versions, run a real scoring server."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from serving_support import training_frame

__all__ = ["register_version", "scoring_server", "wait_for"]


def register_version(client: Any, name: str, *, seed: int = 0, input_example: bool = True,
                     rename: dict[str, str] | None = None, corrupt: bool = False) -> int:
    """A new version of ``name`` logged into a fresh run: a fitted pipeline over age/income/plan.

    ``rename`` renames input columns (a different signature); ``corrupt`` overwrites the
    pickled model with garbage (a version that cannot be loaded).
    """
    import lockgate
    from lockgate.models.signature import infer_signature
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = training_frame(seed=seed)
    X = X.rename(columns=rename or {})
    cols = list(X.columns)
    pipeline = make_pipeline(
        make_column_transformer((StandardScaler(), cols[:2]), (OneHotEncoder(), cols[2:])),
        LogisticRegression(C=1.0 + seed),
    ).fit(X, y)
    experiment = client.get_experiment_by_name("follow")
    experiment_id = experiment.experiment_id if experiment else client.create_experiment("follow")
    run_id = client.create_run(experiment_id).info.run_id
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model"
        if input_example:
            lockgate.sklearn.save_model(pipeline, path, input_example=X[:3])
        else:
            lockgate.sklearn.save_model(pipeline, path, signature=infer_signature(X, pipeline.predict(X)))
        if corrupt:
            (path / "model.pkl").write_bytes(b"these are not the weights you are looking for")
        client.log_artifacts(run_id, str(path), "model")
    client.set_terminated(run_id)
    version = client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id)
    return int(version.version)


def wait_for(check: Any, *, timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``check()`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def scoring_server(model_uri: str, *, port: int, tracking_uri: str, log_path: Path,
                   env: dict[str, str] | None = None, poll_interval: float = 0.2) -> Iterator[str]:
    """``lockgate models serve -m <uri> --follow`` in a subprocess; yields its base URL."""
    args = [sys.executable, "-m", "lockgate.cli", "models", "serve", "-m", model_uri, "--follow",
            "--port", str(port), "--poll-interval", str(poll_interval), "--tracking-uri", tracking_uri]
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        try:
            def ready() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(f"the scoring server exited:\n{log_path.read_text()}")
                try:
                    return httpx.get(f"{base}/ping", timeout=1).status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(ready, timeout=240, what="the scoring server")
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=15)
