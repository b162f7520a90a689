"""Run artifacts through the real client and fluent API: local roots, S3 roots, runs:/ URIs, gc."""

from __future__ import annotations

import json
from pathlib import Path

import lockgate
import numpy as np
import pytest
import yaml
from lockgate.artifacts import download_artifact_uri, resolve_artifact_uri
from lockgate.artifacts import fluent as af
from lockgate.artifacts.repository import FileInfo
from lockgate.artifacts.uri import local_path_of
from lockgate.client import LockgateClient
from lockgate.errors import InvalidArgument, NotFound

Client = LockgateClient


def test_fluent_artifacts_land_under_the_run_root(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_text("<p>ok</p>")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with lockgate.start_run() as run:
        af.log_artifact(report)
        af.log_dict({"threshold": 0.4}, "config.json")
        af.log_dict({"layers": [1, 2]}, "nested/config.yaml")
        af.log_text("hello", "notes/readme.txt")
        af.log_figure(fig, "roc.png")
        af.log_image(np.zeros((4, 5, 3), dtype="uint8"), "images/black.png")
        root = af.get_artifact_uri()
        listed = af.list_artifacts()
    plt.close(fig)
    run_info = LockgateClient().get_run(run.info.run_id).info
    assert root == run_info.artifact_uri
    assert root.endswith(f"{run.info.run_id}/artifacts")
    assert [f.path for f in listed] == ["config.json", "images", "nested", "notes", "report.html", "roc.png"]
    base = Path(local_path_of(root))
    assert json.loads((base / "config.json").read_text()) == {"threshold": 0.4}
    assert yaml.safe_load((base / "nested" / "config.yaml").read_text()) == {"layers": [1, 2]}
    assert (base / "notes" / "readme.txt").read_text() == "hello"
    assert (base / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    assert Image.open(base / "images" / "black.png").size == (5, 4)
    local = af.download_artifacts("notes", run_id=run.info.run_id, dst_path=tmp_path / "dl")
    assert (Path(local) / "readme.txt").read_text() == "hello"


def test_fluent_without_active_run_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgument, match="No active run"):
        af.log_text("x", "x.txt")


def test_client_mixin_methods(tmp_path: Path) -> None:
    client = Client()
    exp = client.create_experiment("arts")
    run = client.create_run(exp)
    run_id = run.info.run_id
    src = tmp_path / "data"
    src.mkdir()
    (src / "a.csv").write_text("x\n1\n")
    client.log_artifacts(run_id, src, "inputs")
    client.log_text(run_id, "t", "t.txt")
    client.log_dict(run_id, {"k": 1}, "d.json")
    assert client.list_artifacts(run_id) == [FileInfo("d.json", False, 12), FileInfo("inputs", True, None),
                                              FileInfo("t.txt", False, 1)]
    assert client.list_artifacts(run_id, "inputs") == [FileInfo("inputs/a.csv", False, 4)]
    out = client.download_artifacts(run_id, "inputs/a.csv", tmp_path / "out")
    assert Path(out).read_text() == "x\n1\n"
    with pytest.raises(InvalidArgument, match="not allowed"):
        client.log_text(run_id, "x", "../../escape.txt")
    with pytest.raises(NotFound, match="missing.txt"):
        client.download_artifacts(run_id, "missing.txt", tmp_path / "out")


def test_runs_uri_resolution(tmp_path: Path) -> None:
    client = Client()
    run = client.create_run(client.create_experiment("uris"))
    client.log_text(run.info.run_id, "payload", "dir/file.txt")
    uri = f"runs:/{run.info.run_id}/dir/file.txt"
    assert resolve_artifact_uri(uri) == f"{run.info.artifact_uri}/dir/file.txt"
    assert Path(download_artifact_uri(uri)).read_text() == "payload"
    copied = download_artifact_uri(f"runs:/{run.info.run_id}/dir", dst_path=str(tmp_path / "copy"))
    assert (Path(copied) / "file.txt").read_text() == "payload"
    with pytest.raises(NotFound):
        download_artifact_uri(f"runs:/{run.info.run_id}/nothing-here")
    with pytest.raises(NotFound):
        resolve_artifact_uri("runs:/0123456789abcdef0123456789abcdef/x")
    with pytest.raises(InvalidArgument, match="names no run"):
        resolve_artifact_uri("runs://")
    with pytest.raises(InvalidArgument, match="not allowed"):
        resolve_artifact_uri(f"runs:/{run.info.run_id}/../../etc/passwd")


def test_gc_deletes_artifacts_of_permanently_deleted_runs() -> None:
    client = Client()
    exp = client.create_experiment("gc")
    keep = client.create_run(exp)
    drop = client.create_run(exp)
    for run in (keep, drop):
        client.log_text(run.info.run_id, "x", "x.txt")
    client.delete_run(drop.info.run_id)
    assert Path(local_path_of(drop.info.artifact_uri), "x.txt").exists()  # soft delete keeps files
    client.gc()
    assert not Path(local_path_of(drop.info.artifact_uri)).exists()
    assert Path(local_path_of(keep.info.artifact_uri), "x.txt").read_text() == "x"


def test_experiment_with_s3_artifact_root(s3_bucket: str, tmp_path: Path) -> None:
    client = Client()
    exp = client.create_experiment("s3exp", artifact_location=f"s3://{s3_bucket}/exp")
    run = client.create_run(exp)
    assert run.info.artifact_uri == f"s3://{s3_bucket}/exp/{run.info.run_id}/artifacts"
    client.log_dict(run.info.run_id, {"a": 1}, "conf/a.json")
    assert client.list_artifacts(run.info.run_id, "conf") == [FileInfo("conf/a.json", False, 12)]
    out = download_artifact_uri(f"runs:/{run.info.run_id}/conf/a.json", dst_path=str(tmp_path))
    assert json.loads(Path(out).read_text()) == {"a": 1}
    client.delete_run(run.info.run_id)
    client.gc()
    from lockgate.artifacts import get_artifact_repository

    assert get_artifact_repository(run.info.artifact_uri).walk_files() == []


def test_only_plain_paths_and_file_uris_are_local() -> None:
    from lockgate.artifacts.uri import is_local_uri

    assert is_local_uri("/tmp/model") and is_local_uri("relative/model") and is_local_uri("C:/models/m")
    assert is_local_uri("file:///tmp/model") and is_local_uri("file:/tmp/model")
    assert local_path_of("file:/tmp/model") == "/tmp/model"
    for remote in ("mlflow-artifacts:/1/abc/artifacts/model", "mlflow-artifacts://host:5000/1/abc",
                   "s3://bucket/model", "gs://bucket/model"):
        assert not is_local_uri(remote), remote
