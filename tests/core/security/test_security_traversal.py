"""The artifact proxy against paths meant to escape, exhaust or crash it (issue 12, items 8-9):
files used as folders, over-long names, absurd depth, and symlinks leading out of the root."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from limits_support import error_body, thread_server

ART = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    path = tmp_path / "artifacts"
    path.mkdir()
    return path


@pytest.fixture
def http(artifacts: Path, sqlite_uri: str) -> Iterator[httpx.Client]:
    from lockgate.server.app import create_app

    app = create_app(backend_store_uri=sqlite_uri, artifacts_destination=str(artifacts))
    with thread_server(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


def test_a_file_is_not_a_folder(http: httpx.Client, artifacts: Path) -> None:
    assert http.put(f"{ART}/1/run/artifacts/model.pkl", content=b"weights").status_code == 200
    body = error_body(http.put(f"{ART}/1/run/artifacts/model.pkl/child", content=b"x"), 400,
                      "INVALID_PARAMETER_VALUE")
    assert "model.pkl/child" in body["message"] and "existing file" in body["message"]
    assert (artifacts / "1/run/artifacts/model.pkl").read_bytes() == b"weights"
    error_body(http.get(f"{ART}/1/run/artifacts/model.pkl/child"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_over_long_names_and_absurd_depth_are_400(http: httpx.Client, artifacts: Path) -> None:
    long_name = "a" * 300
    for method in ("PUT", "GET", "DELETE"):
        body = error_body(http.request(method, f"{ART}/1/{long_name}", content=b"x" if method == "PUT" else None),
                          400, "INVALID_PARAMETER_VALUE")
        assert "255 bytes" in body["message"]
    deep = "/".join(["d"] * 2000)
    for method in ("PUT", "GET", "DELETE"):
        body = error_body(http.request(method, f"{ART}/{deep}", content=b"x" if method == "PUT" else None),
                          400, "INVALID_PARAMETER_VALUE")
        assert "too long" in body["message"]
    body = error_body(http.get(ART, params={"path": deep}), 400, "INVALID_PARAMETER_VALUE")
    assert "100 levels" in body["message"]
    assert os.listdir(artifacts) == []
    # The limits leave ordinary nesting alone.
    nested = "/".join(f"level{i}" for i in range(50)) + "/" + "n" * 255
    assert http.put(f"{ART}/{nested}", content=b"deep").status_code == 200
    assert http.get(f"{ART}/{nested}").content == b"deep"
