"""One exception tree for everything Lockgate raises, each with a stable error code.

The codes are the same strings MLflow's REST API uses where one exists, so the server
can hand them to the stock ``mlflow`` client unchanged.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AlreadyExists",
    "Conflict",
    "GateFailed",
    "InternalError",
    "InvalidArgument",
    "LockgateError",
    "NotFound",
    "NotImplementedFeature",
    "PermissionDenied",
    "ServiceUnavailable",
    "Unauthenticated",
    "error_for_code",
]


class LockgateError(Exception):
    """Base of every Lockgate error; ``code`` is stable and machine-readable."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON body the server answers with."""
        body: dict[str, Any] = {"error_code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class NotFound(LockgateError):
    """The experiment, run, model, version or alias named does not exist."""

    code = "RESOURCE_DOES_NOT_EXIST"
    http_status = 404


class AlreadyExists(LockgateError):
    """Something with that name or id is already there."""

    code = "RESOURCE_ALREADY_EXISTS"
    http_status = 400


class InvalidArgument(LockgateError):
    """An argument was malformed, out of range, or breaks a rule (e.g. changing a param)."""

    code = "INVALID_PARAMETER_VALUE"
    http_status = 400


class PermissionDenied(LockgateError):
    """The caller is known but may not do this."""

    code = "PERMISSION_DENIED"
    http_status = 403


class Unauthenticated(LockgateError):
    """No valid credentials were presented."""

    code = "UNAUTHENTICATED"
    http_status = 401


class Conflict(LockgateError):
    """A concurrent change won; retry against the new state."""

    code = "ABORTED"
    http_status = 409


class GateFailed(LockgateError):
    """A promotion gate refused the move; ``results`` holds every rule's verdict."""

    code = "GATE_FAILED"
    http_status = 412

    def __init__(
        self, message: str, *, results: list[Any] | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details=details)
        # Verdicts that arrived as JSON (a server's refusal) become RuleResults, so callers
        # read r.passed / r.rule the same whichever store refused the move.
        from lockgate.registry.verdicts import as_rule_results

        self.results = as_rule_results(list(results or []))


class ServiceUnavailable(LockgateError):
    """The tracking server or database could not be reached."""

    code = "TEMPORARILY_UNAVAILABLE"
    http_status = 503


class NotImplementedFeature(LockgateError):
    """The server knows the request but this deployment cannot do it (MLflow's NOT_IMPLEMENTED)."""

    code = "NOT_IMPLEMENTED"
    http_status = 501


class InternalError(LockgateError):
    """A bug on our side; the message says what was being done."""


_BY_CODE: dict[str, type[LockgateError]] = {
    cls.code: cls
    for cls in (
        NotFound,
        AlreadyExists,
        InvalidArgument,
        PermissionDenied,
        Unauthenticated,
        Conflict,
        GateFailed,
        ServiceUnavailable,
        NotImplementedFeature,
        InternalError,
    )
}
_BY_CODE["INVALID_ARGUMENT"] = InvalidArgument
_BY_CODE["NOT_FOUND"] = NotFound
_BY_CODE["ALREADY_EXISTS"] = AlreadyExists
_BY_CODE["BAD_REQUEST"] = InvalidArgument


def error_for_code(code: str, message: str, **kwargs: Any) -> LockgateError:
    """Rebuild the right exception from a code received over the wire."""
    return _BY_CODE.get(code, LockgateError)(message, **kwargs)
