"""S3 locations for the artifact tests, on the shared SeaweedFS ``s3_server`` fixture."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


@pytest.fixture(scope="session")
def _s3_session_bucket(s3_server: Any) -> str:
    import s3fs

    # One bucket per session, a prefix per test: SeaweedFS gives every bucket its own volumes.
    bucket = f"lg-artifacts-{uuid.uuid4().hex[:10]}"
    s3fs.S3FileSystem(skip_instance_cache=True, **s3_server.storage_options()).mkdir(bucket)
    return bucket


@pytest.fixture
def s3_bucket(s3_server: Any, _s3_session_bucket: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``bucket/prefix`` unique to this test; the environment points Lockgate at the server."""
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3_server.endpoint_url)
    return f"{_s3_session_bucket}/t-{uuid.uuid4().hex[:10]}"
