"""The real services the suite relies on answer: PostgreSQL and the SeaweedFS S3 server."""

from __future__ import annotations

import os
import uuid

import pytest


def test_s3_server_round_trips_an_object(s3_server) -> None:  # type: ignore[no-untyped-def]
    import s3fs

    fs = s3fs.S3FileSystem(**s3_server.storage_options())
    bucket = f"lg-{uuid.uuid4().hex[:12]}"
    payload = bytes(range(256)) * 64

    fs.mkdir(bucket)
    fs.pipe(f"{bucket}/runs/abc/artifacts/model.bin", payload)
    fs.invalidate_cache()

    assert fs.cat(f"{bucket}/runs/abc/artifacts/model.bin") == payload
    assert fs.ls(f"{bucket}/runs/abc/artifacts") == [f"{bucket}/runs/abc/artifacts/model.bin"]
    assert fs.info(f"{bucket}/runs/abc/artifacts/model.bin")["size"] == len(payload)
    assert bucket in fs.ls("")

    fs.rm(f"{bucket}/runs/abc/artifacts/model.bin")
    fs.invalidate_cache()
    assert not fs.exists(f"{bucket}/runs/abc/artifacts/model.bin")


def test_s3_server_rejects_wrong_credentials(s3_server) -> None:  # type: ignore[no-untyped-def]
    import s3fs

    options = s3_server.storage_options()
    options["secret"] = "not-the-secret"
    fs = s3fs.S3FileSystem(**options)
    with pytest.raises((PermissionError, OSError)):
        fs.mkdir(f"lg-{uuid.uuid4().hex[:12]}")


def test_postgres_accepts_connections() -> None:
    from sqlalchemy import create_engine, text

    url = os.environ.get("LOCKGATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select 40 + 2")).scalar_one() == 42
    finally:
        engine.dispose()
