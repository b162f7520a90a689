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


def test_symlinks_out_of_the_root_are_refused(http: httpx.Client, artifacts: Path, tmp_path: Path) -> None:
    """Links inside the artifacts folder were followed on read, write and delete."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("do not serve me")
    (artifacts / "1").mkdir()
    (artifacts / "1" / "escape").symlink_to(outside, target_is_directory=True)
    (artifacts / "1" / "secret-link.txt").symlink_to(secret)

    for path in ("1/escape/secret.txt", "1/secret-link.txt"):
        body = error_body(http.get(f"{ART}/{path}"), 400, "INVALID_PARAMETER_VALUE")
        assert "outside the artifact root" in body["message"]
        error_body(http.delete(f"{ART}/{path}"), 400, "INVALID_PARAMETER_VALUE")
    error_body(http.put(f"{ART}/1/escape/planted.py", content=b"import os"), 400, "INVALID_PARAMETER_VALUE")
    error_body(http.put(f"{ART}/1/secret-link.txt", content=b"overwritten"), 400, "INVALID_PARAMETER_VALUE")
    error_body(http.get(ART, params={"path": "1/escape"}), 400, "INVALID_PARAMETER_VALUE")
    error_body(http.delete(f"{ART}/1/escape"), 400, "INVALID_PARAMETER_VALUE")
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    assert secret.read_text() == "do not serve me"
    # Links that stay inside the root keep working.
    assert http.put(f"{ART}/1/real/model.bin", content=b"inside").status_code == 200
    (artifacts / "1" / "alias").symlink_to(artifacts / "1" / "real", target_is_directory=True)
    assert http.get(f"{ART}/1/alias/model.bin").content == b"inside"


def test_a_client_disconnecting_mid_upload_logs_one_line(http: httpx.Client, artifacts: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import socket
    import time

    caplog.set_level(logging.INFO)
    url = httpx.URL(str(http.base_url))
    with socket.create_connection((url.host, url.port)) as sock:
        sock.sendall(f"PUT {ART}/1/r/artifacts/big.bin HTTP/1.1\r\nHost: x\r\n"
                     f"Content-Length: {64 * 1024 * 1024}\r\n\r\n".encode())
        sock.sendall(b"\0" * (2 * 1024 * 1024))
    deadline = time.monotonic() + 60  # a liveness wait: only "it was logged" is asserted
    while time.monotonic() < deadline and not any("disconnected" in r.getMessage() for r in caplog.records):
        time.sleep(0.1)
    lines = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(lines) == 1 and "PUT /api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/big.bin" in lines[0].getMessage()
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    # The partial upload left nothing behind, and the server carries on.
    leftovers = [name for _, _, files in os.walk(artifacts) for name in files]
    assert leftovers == []
    assert http.get("/health").text == "OK"


def test_a_refused_gate_on_the_mlflow_alias_route_is_412_as_documented(http: httpx.Client) -> None:
    assert http.post("/api/v1/registered-models", json={"name": "m"}).status_code == 200
    assert http.post("/api/v1/registered-models/m/versions", json={"source": "file:///tmp/m"}).status_code == 200
    policy = {"rules": [{"type": "require_approvals", "count": 1}]}
    assert http.put("/api/v1/registered-models/m/gates",
                    json={"alias": "champion", "policy": policy}).status_code == 200
    refused = http.post("/api/2.0/mlflow/registered-models/alias",
                        json={"name": "m", "alias": "champion", "version": "1"})
    body = error_body(refused, 412, "INVALID_STATE")
    assert "approval" in body["message"]
    native = http.put("/api/v1/registered-models/m/aliases/champion", json={"version": 1})
    error_body(native, 412, "GATE_FAILED")
    docs = (Path(__file__).parents[3] / "docs" / "server.md").read_text()
    assert "gate is 412 on both APIs" in docs
