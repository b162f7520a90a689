"""Lockgate's own artifact layer through the server's proxy: mlflow-artifacts:/ URIs resolve to
the proxy of the client's server; large files stream both ways."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx


def test_proxy_repository_round_trip(server_url: str, artifacts_dir: Path, tmp_path: Path) -> None:
    from lockgate import LockgateClient

    client = LockgateClient(server_url)
    run = client.create_run(client.create_experiment("proxy"))
    uri = run.info.artifact_uri
    assert uri.startswith("mlflow-artifacts:/")
    repo = client.artifact_repository(uri)
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "nested" / "b.bin").write_bytes(b"\x00\x01" * 1000)
    assert sorted(repo.log_artifacts(src, "bundle")) == ["bundle/a.txt", "bundle/nested/b.bin"]
    repo.write_bytes(b'{"k": 1}', "meta.json")
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [("bundle", True), ("meta.json", False)]
    assert [f.path for f in repo.walk_files("bundle")] == ["bundle/a.txt", "bundle/nested/b.bin"]
    assert repo.read_text("meta.json") == '{"k": 1}'
    assert repo.list_artifacts("meta.json") == []
    out = Path(repo.download_artifacts("bundle", tmp_path / "out"))
    assert (out / "nested" / "b.bin").read_bytes() == b"\x00\x01" * 1000
    exp_id, run_id = run.info.experiment_id, run.info.run_id
    assert (artifacts_dir / exp_id / run_id / "artifacts" / "bundle" / "a.txt").read_text() == "alpha"
    repo.delete_artifacts("bundle")
    assert [f.path for f in repo.list_artifacts()] == ["meta.json"]


def test_large_upload_and_download_stream(server_url: str, artifacts_dir: Path, tmp_path: Path) -> None:
    size = 64 * 1024 * 1024 + 123  # larger than any buffer on either side
    big = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(big, "wb") as handle:
        block = os.urandom(1024 * 1024)
        written = 0
        while written < size:
            piece = block[: min(len(block), size - written)]
            handle.write(piece)
            digest.update(piece)
            written += len(piece)
    url = f"{server_url}/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/big.bin"
    with open(big, "rb") as handle:
        response = httpx.put(url, content=iter(lambda: handle.read(256 * 1024), b""), timeout=300)
    assert response.status_code == 200, response.text
    stored = artifacts_dir / "0" / "r" / "artifacts" / "big.bin"
    assert stored.stat().st_size == size
    assert not [p for p in stored.parent.iterdir() if ".upload-" in p.name]
    back = hashlib.sha256()
    with httpx.stream("GET", url, timeout=300) as response:
        assert response.headers["content-length"] == str(size)
        for chunk in response.iter_bytes():
            back.update(chunk)
    assert back.hexdigest() == digest.hexdigest()
