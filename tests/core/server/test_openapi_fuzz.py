"""Property-based fuzzing of the native API from its own OpenAPI document (schemathesis), with
every check schemathesis has: no 5xx, no status code the document does not list, every body
(errors included) valid against its documented schema, content types as documented, invalid
input refused, and valid input accepted."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

# Schema-valid input the server may still refuse: 400 for what a JSON schema cannot say (filter
# grammar, key characters, a run that is not active), 404 for ids that do not exist, 409 for a
# concurrent change, 412 for a gate. Anything else for valid input is a failure.
ACCEPTED_FOR_VALID_INPUT = ["2xx", "400", "401", "403", "404", "409", "412"]


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
            # Validation errors are 400 with the error body, never FastAPI's 422.
            assert "422" not in op["responses"], (method, path)
            assert op["responses"]["400"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}
    assert doc["components"]["schemas"]["Error"]["required"] == ["error_code", "message"]


@pytest.fixture(params=["sqlite", "postgres"])
def fuzz_url(request: pytest.FixtureRequest, start_server: object) -> str:
    backend = request.getfixturevalue("sqlite_uri" if request.param == "sqlite" else "postgres_uri")
    return start_server(backend_store_uri=backend)  # type: ignore[operator]


def test_native_api_passes_every_schemathesis_check(fuzz_url: str) -> None:
    from schemathesis.config import SchemathesisConfig

    server_url = fuzz_url
    config = SchemathesisConfig.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_FOR_VALID_INPUT}}}
    )
    schema = schemathesis.openapi.from_url(server_url + "/api/v1/openapi.json", config=config).include(
        path_regex=r"^/api/v1/|^/api/2\.0/mlflow/metrics/get-history-bulk-interval$")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 18

    for operation in operations:
        _fuzz(operation, server_url, failures)
    if failures:
        pytest.fail(f"{len(failures)} schemathesis failures:\n" + "\n".join(failures))


def _fuzz(operation: object, server_url: str, failures: list[str]) -> None:
    label = operation.label  # type: ignore[attr-defined]

    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case: object) -> None:
        try:
            case.call_and_validate(base_url=server_url)  # type: ignore[attr-defined]
        except BaseException as exc:  # schemathesis raises a FailureGroup (a BaseExceptionGroup)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            for failure in getattr(exc, "exceptions", [exc]):
                title = getattr(failure, "title", type(failure).__name__)
                message = str(getattr(failure, "message", failure)).strip().splitlines()
                failures.append(f"{label}: {title}: {' '.join(message)[:300]}")

    check()
