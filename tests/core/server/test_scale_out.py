"""Many workers, one truth: separate server processes (and --workers) on one PostgreSQL
database and one artifact store behave as a single server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

API = "/api/2.0/mlflow"

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _post(url: str, path: str, body: dict[str, object]) -> dict[str, object]:
    response = httpx.post(url + API + path, json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def test_two_server_processes_share_one_database_and_artifact_store(
    start_process_server: Callable[..., str], postgres_uri: str, tmp_path: Path
) -> None:
    artifacts = tmp_path / "shared-artifacts"
    args = ("--backend-store-uri", postgres_uri, "--artifacts-destination", str(artifacts), "--no-access-log")
    a, b = start_process_server(*args), start_process_server(*args)

    exp_id = _post(a, "/experiments/create", {"name": "shared"})["experiment_id"]
    # The name is taken for both servers at once.
    dup = httpx.post(b + API + "/experiments/create", json={"name": "shared"}, timeout=30)
    assert dup.status_code == 400 and dup.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    run = _post(b, "/runs/create", {"experiment_id": exp_id})["run"]["info"]["run_id"]  # type: ignore[index]

    errors: list[str] = []

    def log(url: str, offset: int) -> None:
        for i in range(20):
            metrics = [{"key": "loss", "value": float(offset + i * 10 + j), "timestamp": 1, "step": offset + i * 10 + j}
                       for j in range(10)]
            response = httpx.post(url + API + "/runs/log-batch", json={"run_id": run, "metrics": metrics}, timeout=60)
            if response.status_code != 200:
                errors.append(response.text)

    threads = [threading.Thread(target=log, args=(url, off)) for url, off in ((a, 0), (b, 1000), (a, 2000), (b, 3000))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for url in (a, b):
        history = httpx.get(url + API + "/metrics/get-history", params={"run_id": run, "metric_key": "loss"}).json()
        assert len(history["metrics"]) == 800
        latest = httpx.get(url + API + "/runs/get", params={"run_id": run}).json()["run"]["data"]["metrics"]
        assert latest == [{"key": "loss", "value": 3199.0, "timestamp": 1, "step": 3199}]  # the highest step

    # An artifact uploaded through one server is listed and downloaded through the other.
    path = f"{exp_id}/{run}/artifacts/model.bin"
    payload = bytes(range(256)) * 4096
    assert httpx.put(f"{a}/api/2.0/mlflow-artifacts/artifacts/{path}", content=payload).status_code == 200
    assert httpx.get(f"{b}/api/2.0/mlflow-artifacts/artifacts/{path}").content == payload
    listing = httpx.get(f"{b}/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{exp_id}/{run}/artifacts"}).json()
    assert listing == {"files": [{"path": "model.bin", "is_dir": False, "file_size": len(payload)}]}
    # A run deleted through one server is deleted for the other.
    _post(a, "/runs/delete", {"run_id": run})
    assert httpx.get(b + API + "/runs/get", params={"run_id": run}).json()["run"]["info"]["lifecycle_stage"] == "deleted"


def test_two_processes_on_postgres_and_one_s3_bucket(
    start_process_server: Callable[..., str], postgres_uri: str, s3_server: object
) -> None:
    import uuid

    import s3fs

    bucket = f"lg-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(**s3_server.storage_options())  # type: ignore[attr-defined]
    fs.mkdir(bucket)
    env = {**s3_server.env(), "LOCKGATE_S3_ENDPOINT_URL": s3_server.endpoint_url}  # type: ignore[attr-defined]
    args = ("--backend-store-uri", postgres_uri, "--artifacts-destination", f"s3://{bucket}/artifacts",
            "--no-access-log")
    a, b = start_process_server(*args, env=env), start_process_server(*args, env=env)
    exp_id = _post(a, "/experiments/create", {"name": "s3"})["experiment_id"]
    run = _post(b, "/runs/create", {"experiment_id": exp_id})["run"]["info"]["run_id"]  # type: ignore[index]
    payload = bytes(range(256)) * 40_000  # 10 MB: several multipart parts
    path = f"{exp_id}/{run}/artifacts/model/weights.bin"
    assert httpx.put(f"{a}/api/2.0/mlflow-artifacts/artifacts/{path}", content=payload, timeout=120).status_code == 200
    assert fs.cat_file(f"{bucket}/artifacts/{path}") == payload
    assert httpx.get(f"{b}/api/2.0/mlflow-artifacts/artifacts/{path}", timeout=120).content == payload
    listing = httpx.get(f"{b}/api/2.0/mlflow-artifacts/artifacts",
                        params={"path": f"{exp_id}/{run}/artifacts/model"}, timeout=60).json()
    assert listing == {"files": [{"path": "weights.bin", "is_dir": False, "file_size": len(payload)}]}
    assert httpx.delete(f"{b}/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run}/artifacts/model",
                        timeout=60).status_code == 200
    fs.invalidate_cache()
    assert not fs.exists(f"{bucket}/artifacts/{path}")
    assert httpx.get(f"{a}/api/2.0/mlflow-artifacts/artifacts/{path}", timeout=60).status_code == 404


def test_workers_option_serves_from_several_processes(
    start_process_server: Callable[..., str], postgres_uri: str, tmp_path: Path
) -> None:
    url = start_process_server(
        "--backend-store-uri", postgres_uri, "--artifacts-destination", str(tmp_path / "a"), "--workers", "2"
    )
    exp_id = _post(url, "/experiments/create", {"name": "workers"})["experiment_id"]
    ids: list[str] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        for _ in range(n):
            with httpx.Client(headers={"Connection": "close"}) as client:
                r = client.post(url + API + "/runs/create", json={"experiment_id": exp_id}, timeout=60)
            assert r.status_code == 200, r.text
            with lock:
                ids.append(r.json()["run"]["info"]["run_id"])

    threads = [threading.Thread(target=create, args=(10,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    found = _post(url, "/runs/search", {"experiment_ids": [exp_id], "max_results": 100})["runs"]
    assert sorted(r["info"]["run_id"] for r in found) == sorted(ids)  # type: ignore[index]
    assert len(set(ids)) == 40
