"""The OpenAPI document at ``/api/v1/openapi.json``, with the error answers the server really gives.

FastAPI documents only 200 and a 422 "Validation Error" nobody ever gets: validation failures
are 400 here, and every operation can also answer 401/403 (auth), 404, 503 (database down),
413 (body over the limit), 409 (a concurrent change) and, for registry moves, 412 (a refused
gate). ``install_openapi`` post-processes FastAPI's document once so that it says so, with
the one error body every failure uses.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ERROR_SCHEMA", "install_openapi"]

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {
        "error_code": {"type": "string", "description": "A stable code such as INVALID_PARAMETER_VALUE"},
        "message": {"type": "string", "description": "What was wrong, naming the field"},
        "details": {"type": "object", "description": "Extra facts, e.g. every gate rule's verdict"},
    },
}

_ALWAYS = {
    "400": "Bad input: the message names the field (INVALID_PARAMETER_VALUE, MALFORMED_REQUEST ...)",
    "401": "Authentication required or failed (auth on)",
    "403": "The user lacks the permission this call needs (auth on)",
    "404": "No such resource (RESOURCE_DOES_NOT_EXIST) or endpoint",
    "503": "The database is unavailable (TEMPORARILY_UNAVAILABLE)",
}
_WITH_BODY = {"413": "The request body is larger than the server's limit (RESOURCE_EXHAUSTED)"}
_WRITES = {"409": "A concurrent change got there first (ABORTED); retry"}
_REGISTRY_WRITES = {"412": "A gate refused the move (GATE_FAILED); details.results holds every verdict"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.pop("422", None)
            codes = dict(_ALWAYS)
            if "requestBody" in operation or method in ("post", "put", "patch"):
                codes.update(_WITH_BODY)
            if method != "get":
                codes.update(_WRITES)
                if "registered-models" in path or "model-versions" in path:
                    codes.update(_REGISTRY_WRITES)
            for code, description in codes.items():
                responses.setdefault(code, _error(description))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install_openapi(app: Any) -> None:
    """Make ``app.openapi()`` return FastAPI's document with the real error answers."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            app.openapi_schema = _document_errors(document)
        return app.openapi_schema  # type: ignore[no-any-return]

    app.openapi = openapi
