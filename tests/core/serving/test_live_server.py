"""The real thing: `lockgate models serve` in a subprocess, scored over HTTP with httpx."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from serving_support import training_frame


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_uvicorn_server_scores_requests(churn_model_dir: Path, tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    code = ("from lockgate.cli.models import models_app; "
            "models_app(['serve', '-m', sys.argv[1], '--port', sys.argv[2]])")
    proc = subprocess.Popen([sys.executable, "-c", "import sys; " + code, str(churn_model_dir), str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a loaded CI machine needs that long to import
        while True:
            try:
                if httpx.get(f"{base}/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start: {(tmp_path / 'serve.log').read_text()}")
            time.sleep(0.2)
        X, _ = training_frame()
        body = {"dataframe_split": json.loads(X[:10].to_json(orient="split", index=False))}
        response = httpx.post(f"{base}/invocations", json=body, timeout=10)
        assert response.status_code == 200
        import lockgate

        expected = lockgate.pyfunc.load_model(churn_model_dir).predict(X[:10]).tolist()
        assert response.json() == {"predictions": expected}
        bad = httpx.post(f"{base}/invocations", content=b"{oops", timeout=10,
                         headers={"Content-Type": "application/json"})
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["message"]
        assert httpx.get(f"{base}/version", timeout=5).json()["lockgate_version"] == lockgate.__version__
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def test_serve_refuses_a_model_uri_that_names_nothing(tmp_path: Path) -> None:
    from lockgate.cli.models import models_app
    from typer.testing import CliRunner

    result = CliRunner().invoke(models_app, ["serve", "-m", str(tmp_path / "nothing")])
    assert result.exit_code == 1
    assert "Nothing exists at" in result.output
