"""Error answers: every failure becomes a status code and ``{"error_code", "message"}``.

LockgateError subclasses carry their own code and status; validation errors name the
offending field; unknown endpoints are a JSON 404; anything unexpected is logged with its
traceback on the server and answered with a plain INTERNAL_ERROR, never the traceback.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lockgate.errors import LockgateError

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.responses import Response

__all__ = ["MLFLOW_CODE_FOR", "database_fault", "error_response", "install_error_handlers", "unexpected_error_response"]

logger = logging.getLogger("lockgate.server")

# Lockgate codes the stock mlflow client does not know, translated on the MLflow routes.
MLFLOW_CODE_FOR = {"GATE_FAILED": "INVALID_STATE", "UNAUTHENTICATED": "UNAUTHENTICATED"}


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    from lockgate.server.responses import json_response

    body: dict[str, Any] = {"error_code": code, "message": message}
    if details:
        body["details"] = details
    headers = {"WWW-Authenticate": 'Basic realm="lockgate", Bearer'} if status == 401 else None
    return json_response(body, status_code=status, headers=headers)


def _is_mlflow_path(request: Request) -> bool:
    return request.url.path.startswith(("/api/2.0/", "/ajax-api/2.0/", "/api/3.0/"))


def _lockgate_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LockgateError)
    code = exc.code
    if _is_mlflow_path(request):
        code = MLFLOW_CODE_FOR.get(code, code)
    details = dict(exc.details)
    results = getattr(exc, "results", None)
    if results:
        details["results"] = [r.model_dump(mode="json") if hasattr(r, "model_dump") else r for r in results]
    return error_response(exc.http_status, code, exc.message, details or None)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request body"


def _validation_error(request: Request, exc: Exception) -> Response:
    errors = exc.errors()  # type: ignore[attr-defined]
    problems = []
    for err in errors[:5]:
        if err.get("type") == "json_invalid":
            return error_response(
                400, "MALFORMED_REQUEST", f"The request body is not valid JSON: {err.get('ctx', {}).get('error', '')}".rstrip(": ")
            )
        field = _field_name(tuple(err.get("loc", ())))
        problems.append(f"{field}: {err.get('msg', 'invalid')}")
    message = "Invalid request: " + "; ".join(problems)
    return error_response(400, "INVALID_PARAMETER_VALUE", message)


def _model_validation_error(request: Request, exc: Exception) -> Response:
    """A pydantic model built inside a route (query parameters folded into a body model)."""
    problems = [f"{_field_name(tuple(err.get('loc', ())))}: {err.get('msg', 'invalid')}"
                for err in exc.errors()[:5]]  # type: ignore[attr-defined]
    return error_response(400, "INVALID_PARAMETER_VALUE", "Invalid request: " + "; ".join(problems))


def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", None)
    if status == 404:
        message = detail if isinstance(detail, str) and detail != "Not Found" else (
            f"No endpoint {request.method} {request.url.path}."
        )
        return error_response(404, "ENDPOINT_NOT_FOUND", message)
    if status == 405:
        if not _has_api_route(request):
            # Only the UI's catch-all GET matched: for an API client the endpoint does not exist.
            return error_response(404, "ENDPOINT_NOT_FOUND", f"No endpoint {request.method} {request.url.path}.")
        return error_response(405, "ENDPOINT_NOT_FOUND", f"{request.method} is not allowed on {request.url.path}.")
    code = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 413: "RESOURCE_EXHAUSTED"}.get(
        status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST"
    )
    return error_response(status, code, str(detail) if detail else code)


def _has_api_route(request: Request) -> bool:
    """Whether a route other than the UI's catch-all serves this path (with another method)."""
    from starlette.routing import Match

    for route in request.app.router.routes:
        if getattr(route, "path", None) == "/{full_path:path}":
            continue
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            return True
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            if route.matches({**request.scope, "method": method})[0] is not Match.NONE:
                return True
    return False


def _unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, OverflowError):
        return error_response(400, "INVALID_PARAMETER_VALUE", f"A number in the request is out of range: {exc}.")
    if type(exc).__module__.startswith("sqlalchemy"):
        fault = database_fault(exc)
        if fault is not None:
            status, code, message = fault
            if status != 400:
                logger.warning("%s on %s %s", message, request.method, request.url.path)
            response = error_response(status, code, message)
            if status == 503:
                response.headers["Retry-After"] = "1"
            return response
    logger.exception("Unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        500, "INTERNAL_ERROR", f"Internal error while handling {request.method} {request.url.path}: {type(exc).__name__}."
    )


# SQLSTATEs (PostgreSQL) and result codes (SQLite) of a database that refuses every write.
_READ_ONLY_SQLSTATES = frozenset({"25006"})
_FULL_SQLSTATES = frozenset({"53100", "53200", "54000"})


def database_fault(exc: BaseException) -> tuple[int, str, str] | None:
    """The answer for a database failure that is not the request's fault, or None.

    A lost or refused connection (a restart, a failover, a full pool) is a 503 the client may
    retry: an unfinished transaction is rolled back by the database, never half-applied. A read-only
    database is a 503 too (writes resume once it is writable; reads still work). A full disk
    is a 507: retrying cannot help until an operator frees space.
    """
    from sqlalchemy import exc as sa_exc

    orig = getattr(exc, "orig", None)
    reason = str(orig or exc).strip().splitlines()[0] if str(orig or exc).strip() else type(exc).__name__
    sqlstate = str(getattr(orig, "sqlstate", "") or "")
    sqlite_name = str(getattr(orig, "sqlite_errorname", "") or "")
    if isinstance(exc, sa_exc.DataError):
        return 400, "INVALID_PARAMETER_VALUE", f"The database refused a value: {reason}"
    if sqlstate in _READ_ONLY_SQLSTATES or sqlite_name.startswith("SQLITE_READONLY"):
        return 503, "TEMPORARILY_UNAVAILABLE", (
            f"The database is read-only, so nothing was written: {reason}. "
            "Writes are refused until an operator makes it writable; reads still work."
        )
    if sqlstate in _FULL_SQLSTATES or sqlite_name == "SQLITE_FULL":
        return 507, "RESOURCE_EXHAUSTED", (
            f"The database is out of space, so nothing was written: {reason}. "
            "An operator must free space or raise the limit."
        )
    from lockgate.store.sql.engine import is_disconnect

    if (is_disconnect(exc)
            or isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                                sa_exc.DisconnectionError))):
        return 503, "TEMPORARILY_UNAVAILABLE", (
            f"The database is unavailable; retry the request: {reason}"
        )
    return None


def unexpected_error_response(request: Request, exc: Exception) -> Response:
    """The answer for an exception no handler claimed (logged with its traceback)."""
    return _unexpected(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the JSON error shape."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    app.add_exception_handler(LockgateError, _lockgate_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    from pydantic import ValidationError

    app.add_exception_handler(ValidationError, _model_validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(OverflowError, _unexpected)
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:  # pragma: no cover - sqlalchemy is a core dependency
        pass
    else:
        app.add_exception_handler(SQLAlchemyError, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
