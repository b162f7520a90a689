"""Fast JSON answers: orjson bodies, with NaN and infinities spelled as MLflow spells them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.responses import Response

__all__ = ["EMPTY", "json_response", "paged_response", "wire_float"]

EMPTY: dict[str, Any] = {}


def wire_float(value: float) -> float | str:
    """A float as JSON can carry it: NaN and ±infinity become "NaN", "Infinity", "-Infinity"."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _dumps(body: Any) -> bytes:
    import orjson

    return orjson.dumps(body)


def json_response(body: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response serialized once with orjson (FastAPI's own encoder is far slower)."""
    from starlette.responses import Response

    return Response(_dumps(body), status_code=status_code, media_type="application/json", headers=headers)


def paged_response(key: str, items: list[Any], token: str | None) -> Response:
    """One page as MLflow's server answers it: ``{key: items}``, plus ``next_page_token`` only
    when there is a next page."""
    body: dict[str, Any] = {key: items}
    if token:
        body["next_page_token"] = token
    return json_response(body)
