"""Property-based fuzzing of the native API from its own OpenAPI document (schemathesis):
whatever the generated request, the server answers without a 5xx, and every error is JSON."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings  # noqa: E402


def test_openapi_document_is_complete(server_url: str) -> None:
    import httpx

    doc = httpx.get(server_url + "/api/v1/openapi.json", timeout=120).json()
    paths = {p for p in doc["paths"] if p.startswith("/api/v1/")}
    for expected in ("/api/v1/experiments", "/api/v1/runs/{run_id}", "/api/v1/runs/search",
                     "/api/v1/runs/{run_id}/metric-history", "/api/v1/runs/{run_id}/batch", "/api/v1/gc",
                     # the web UI's data endpoints
                     "/api/v1/experiments/stats", "/api/v1/experiments/{experiment_id}/keys",
                     "/api/v1/metrics/sampled", "/api/v1/permissions", "/api/v1/runs/{run_id}/artifacts",
                     "/api/v1/runs/{run_id}/artifacts/preview", "/api/v1/runs/{run_id}/artifacts/file"):
        assert expected in paths
    assert "/api/2.0/mlflow/metrics/get-history-bulk-interval" in doc["paths"]
    for path in paths:
        for method, op in doc["paths"][path].items():
            assert op.get("summary"), (method, path)
            assert "200" in op["responses"], (method, path)


@pytest.fixture(params=["sqlite", "postgres"])
def fuzz_url(request: pytest.FixtureRequest, start_server: object) -> str:
    backend = request.getfixturevalue("sqlite_uri" if request.param == "sqlite" else "postgres_uri")
    return start_server(backend_store_uri=backend)  # type: ignore[operator]


def test_native_api_never_answers_5xx(fuzz_url: str) -> None:
    server_url = fuzz_url
    schema = schemathesis.openapi.from_url(server_url + "/api/v1/openapi.json").include(
        path_regex=r"^/api/v1/|^/api/2\.0/mlflow/metrics/get-history-bulk-interval$")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: object) -> None:
            response = case.call(base_url=server_url)  # type: ignore[attr-defined]
            if response.status_code >= 500:
                failures.append(f"{operation.label}: {response.status_code} {response.text[:200]}")
            elif response.status_code >= 400:
                body = response.json()
                assert "error_code" in body and "message" in body, response.text

        check()
    assert failures == []
