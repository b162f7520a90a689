"""Retries around storage calls, including a real fsspec filesystem that fails transiently."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from lockgate.artifacts import ArtifactRepository
from lockgate.artifacts.retry import is_transient, with_retries


class FlakyFileSystem(MemoryFileSystem):
    """An in-memory filesystem whose first opens fail as a dropped connection would."""

    protocol = "flakymem"
    failures_left = 0
    opens = 0

    def _open(self, path, mode="rb", **kwargs):  # type: ignore[no-untyped-def,override]
        type(self).opens += 1
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            raise ConnectionResetError("connection reset by peer")
        return super()._open(path, mode, **kwargs)


fsspec.register_implementation("flakymem", FlakyFileSystem, clobber=True)


def test_transient_classification() -> None:
    assert is_transient(ConnectionResetError())
    assert is_transient(TimeoutError())
    assert is_transient(OSError("503 Service Unavailable"))
    err = RuntimeError("wrapped")
    err.__cause__ = ConnectionRefusedError()
    assert is_transient(err)
    assert not is_transient(FileNotFoundError("x"))
    assert not is_transient(PermissionError("503"))
    assert not is_transient(ValueError("bad"))


def test_with_retries_gives_up_after_attempts() -> None:
    calls = []

    def always_down() -> None:
        calls.append(1)
        raise ConnectionRefusedError("down")

    with pytest.raises(ConnectionRefusedError):
        with_retries(always_down, attempts=3, base_delay=0.001)
    assert len(calls) == 3


def test_permanent_error_is_not_retried() -> None:
    calls = []

    def missing() -> None:
        calls.append(1)
        raise FileNotFoundError("gone")

    with pytest.raises(FileNotFoundError):
        with_retries(missing, attempts=5, base_delay=0.001)
    assert len(calls) == 1


def test_repository_recovers_from_transient_failures(tmp_path: Path) -> None:
    src = tmp_path / "model.bin"
    src.write_bytes(b"weights" * 1000)
    repo = ArtifactRepository("flakymem://bucket/run")
    FlakyFileSystem.failures_left = 2
    FlakyFileSystem.opens = 0
    repo.log_artifact(src, "m")
    assert FlakyFileSystem.opens == 3
    FlakyFileSystem.failures_left = 1
    out = repo.download_artifacts("m/model.bin", tmp_path / "dl")
    assert Path(out).read_bytes() == b"weights" * 1000
