"""The artifact repository on a local directory and on a real S3 server."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from lockgate.artifacts import ArtifactRepository, FileInfo, get_artifact_repository
from lockgate.errors import InvalidArgument, NotFound


@pytest.fixture(params=["local", "s3"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactRepository:
    if request.param == "local":
        return ArtifactRepository(str(tmp_path / "artifact-root"))
    bucket = request.getfixturevalue("s3_bucket")
    return get_artifact_repository(f"s3://{bucket}/exp/run1/artifacts")


def _tree(base: Path) -> Path:
    (base / "sub" / "deeper").mkdir(parents=True)
    (base / "a.txt").write_text("alpha")
    (base / "sub" / "b.json").write_text('{"b": 2}')
    (base / "sub" / "deeper" / "c.bin").write_bytes(bytes(range(256)) * 4)
    return base


def test_log_list_download_single_file(repo: ArtifactRepository, tmp_path: Path) -> None:
    src = tmp_path / "report.html"
    src.write_text("<h1>hi</h1>")
    assert repo.log_artifact(src) == "report.html"
    assert repo.log_artifact(src, "reports/2024") == "reports/2024/report.html"
    assert repo.list_artifacts() == [
        FileInfo("report.html", False, 11),
        FileInfo("reports", True, None),
    ]
    assert repo.list_artifacts("reports/2024") == [FileInfo("reports/2024/report.html", False, 11)]
    local = repo.download_artifacts("reports/2024/report.html", tmp_path / "dl")
    assert Path(local) == tmp_path / "dl" / "reports" / "2024" / "report.html"
    assert Path(local).read_text() == "<h1>hi</h1>"
    assert repo.read_text("report.html") == "<h1>hi</h1>"
    with repo.open("report.html") as handle:
        assert handle.read(4) == b"<h1>"


def test_log_and_download_tree(repo: ArtifactRepository, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    logged = repo.log_artifacts(src, "data")
    assert sorted(logged) == ["data/a.txt", "data/sub/b.json", "data/sub/deeper/c.bin"]
    assert repo.list_artifacts("data") == [
        FileInfo("data/a.txt", False, 5),
        FileInfo("data/sub", True, None),
    ]
    assert [f.path for f in repo.walk_files()] == sorted(logged)
    out = Path(repo.download_artifacts("data", tmp_path / "out"))
    assert (out / "a.txt").read_text() == "alpha"
    assert (out / "sub" / "b.json").read_text() == '{"b": 2}'
    assert (out / "sub" / "deeper" / "c.bin").read_bytes() == bytes(range(256)) * 4
    whole = Path(repo.download_artifacts(None, tmp_path / "whole"))
    assert (whole / "data" / "sub" / "deeper" / "c.bin").exists()


def test_delete(repo: ArtifactRepository, tmp_path: Path) -> None:
    repo.log_artifacts(_tree(tmp_path / "src"))
    repo.delete_artifacts("sub")
    assert [f.path for f in repo.walk_files()] == ["a.txt"]
    repo.delete_artifacts()
    assert repo.walk_files() == []
    assert repo.list_artifacts() == []
    repo.delete_artifacts("never-there")  # a no-op, not an error


def test_write_bytes_and_missing_paths(repo: ArtifactRepository, tmp_path: Path) -> None:
    repo.write_bytes(b"x=1", "conf/app.ini")
    assert repo.read_bytes("conf/app.ini") == b"x=1"
    with pytest.raises(NotFound, match="no-such.txt"):
        repo.download_artifacts("no-such.txt", tmp_path / "dl")
    with pytest.raises(NotFound, match="no-such.txt"):
        repo.read_bytes("no-such.txt")
    with pytest.raises(NotFound, match="missing.csv"):
        repo.log_artifact(tmp_path / "missing.csv")
    with pytest.raises(NotFound, match="nodir"):
        repo.log_artifacts(tmp_path / "nodir")
    assert repo.list_artifacts("nothing/here") == []


@pytest.mark.parametrize("bad", ["../x", "a/../../x", "/etc/passwd", "..", "a/..\\..\\x", "s3://other/x"])
def test_paths_escaping_the_root_are_refused(repo: ArtifactRepository, tmp_path: Path, bad: str) -> None:
    src = tmp_path / "f.txt"
    src.write_text("x")
    with pytest.raises(InvalidArgument, match="not allowed"):
        repo.log_artifact(src, bad)
    with pytest.raises(InvalidArgument, match="not allowed"):
        repo.download_artifacts(bad, tmp_path / "dl")
    with pytest.raises(InvalidArgument, match="not allowed"):
        repo.list_artifacts(bad)
    with pytest.raises(InvalidArgument, match="not allowed"):
        repo.delete_artifacts(bad)
    with pytest.raises(InvalidArgument, match="not allowed"):
        repo.write_bytes(b"x", bad)


def test_large_file_is_streamed(repo: ArtifactRepository, tmp_path: Path) -> None:
    size = 96 * 1024 * 1024
    src = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(src, "wb") as handle:
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            handle.write(block)
            digest.update(block)
    tracemalloc.start()
    try:
        repo.log_artifact(src, "big")
        out = repo.download_artifacts("big/big.bin", tmp_path / "dl")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert os.path.getsize(out) == size
    check = hashlib.sha256()
    with open(out, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            check.update(chunk)
    assert check.hexdigest() == digest.hexdigest()
    # Whole-file reads would allocate the full 96 MiB at least once.
    assert peak < size / 2, f"peak Python allocation {peak} bytes for a {size}-byte file"


def test_s3_options_come_from_environment(s3_bucket: str, s3_server: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_S3_ENDPOINT_URL")
    monkeypatch.setenv("LOCKGATE_S3_ENDPOINT_URL", s3_server.endpoint_url)
    repo = get_artifact_repository(f"s3://{s3_bucket}/root")
    repo.write_bytes(b"hello", "x.txt")
    import s3fs

    raw = s3fs.S3FileSystem(skip_instance_cache=True, **s3_server.storage_options())
    assert raw.cat(f"{s3_bucket}/root/x.txt") == b"hello"


def test_empty_root_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="root URI"):
        ArtifactRepository("")


def test_unknown_protocol_names_the_problem() -> None:
    with pytest.raises(InvalidArgument, match="nosuchproto"):
        ArtifactRepository("nosuchproto://bucket/x")
