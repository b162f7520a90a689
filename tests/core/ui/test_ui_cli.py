"""`lockgate ui` serves the embedded default store (LOCKGATE_HOME) on 127.0.0.1 and prints the URL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from ui_support import free_port


def test_lockgate_ui_serves_local_runs_and_their_artifacts(lockgate_home: Path) -> None:
    from lockgate.client import LockgateClient

    client = LockgateClient()  # the embedded default: SQLite + artifacts under LOCKGATE_HOME
    run = client.create_run("0", run_name="local-run", context_tags=False).info.run_id
    client.log_param(run, "alpha", "0.5")
    client.log_text(run, "local notes", "notes.txt")
    port = free_port()
    env = {**os.environ, "LOCKGATE_HOME": str(lockgate_home)}
    env.pop("LOCKGATE_TRACKING_URI", None)
    proc = subprocess.Popen([sys.executable, "-m", "lockgate.cli.ui", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith(f"Lockgate UI: {url}") and str(lockgate_home / "lockgate.db") in first
        deadline = time.monotonic() + 120  # generous: start-up imports are slow on a busy machine
        while True:
            try:
                page = httpx.get(url, timeout=5)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()  # so that reading its output cannot block
                    pytest.fail(f"lockgate ui did not start: {proc.communicate(timeout=10)[0]}")
                time.sleep(0.2)
        assert page.status_code == 200 and "<title>Lockgate</title>" in page.text
        got = httpx.get(f"{url}api/v1/runs/{run}").json()
        assert got["info"]["run_name"] == "local-run" and got["data"]["params"] == {"alpha": "0.5"}
        listing = httpx.get(f"{url}api/v1/runs/{run}/artifacts")
        assert listing.status_code == 200, listing.text
        files = listing.json()["files"]
        assert files == [{"path": "notes.txt", "is_dir": False, "file_size": 11}]
        preview = httpx.get(f"{url}api/v1/runs/{run}/artifacts/preview", params={"path": "notes.txt"}).json()
        assert preview["text"] == "local notes"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_lockgate_ui_refuses_a_public_bind_address() -> None:
    done = subprocess.run([sys.executable, "-m", "lockgate.cli.ui", "--host", "0.0.0.0"], capture_output=True,
                          text=True, timeout=60, check=False)
    message = " ".join(done.stderr.replace("│", " ").split())
    assert done.returncode == 2 and "serves without auth, so only on loopback" in message
