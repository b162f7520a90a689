"""The scoring server: ``/invocations`` speaks MLflow's protocol over any Lockgate model.

``create_scoring_app(model)`` builds a FastAPI app around a loaded ``PyFuncModel`` (or a model
URI). Bad requests get a 400 JSON body naming the problem; the app never answers a client
mistake with a 500.
"""

from __future__ import annotations

import json
from typing import Any

from lockgate.errors import InvalidArgument, LockgateError

__all__ = ["create_scoring_app", "serve"]


# Bodies above this size are scored in a worker thread, as MLflow does, so numpy and sklearn
# sections that release the GIL overlap across requests; small ones run inline for latency.
_INLINE_MAX_BYTES = 16 * 1024


def _dumps(body: Any) -> bytes:
    try:
        import orjson
    except ImportError:
        return json.dumps(body, allow_nan=False, default=str).encode()
    return orjson.dumps(body, default=str)


def _json_response(body: Any, status: int = 200) -> Any:
    from starlette.responses import Response

    return Response(content=_dumps(body), status_code=status, media_type="application/json")


def _error(exc: LockgateError, status: int | None = None) -> Any:
    return _json_response(exc.to_dict(), status or exc.http_status)


def create_scoring_app(model: Any) -> Any:
    """A FastAPI app serving ``model`` (a PyFuncModel or any model URI) on /invocations."""
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response

    from lockgate import __version__
    from lockgate.serving.payload import format_predictions, parse_request

    if isinstance(model, str) or hasattr(model, "__fspath__"):
        from lockgate.models.pyfunc import load_model

        model = load_model(model)
    app = FastAPI(title="Lockgate scoring server", version=__version__, docs_url=None, redoc_url=None)
    app.state.model = model

    async def ping(request: Request) -> Response:
        return Response(content="\n", status_code=200, media_type="application/json")

    async def version(request: Request) -> Response:
        return PlainTextResponse(__version__)

    # Plain Starlette routes skip FastAPI's parameter machinery, which the raw-body protocol
    # does not need.
    def score(body: bytes, content_type: str | None) -> Response:
        try:
            data, params = parse_request(body, content_type)
        except InvalidArgument as exc:
            return _error(exc, exc.details.pop("status", None))
        try:
            predictions = model.predict(data, params=params) if params else model.predict(data)
        except LockgateError as exc:
            return _error(exc, 400 if exc.http_status >= 500 else None)
        except Exception as exc:  # noqa: BLE001 - the model rejected the input (sklearn/torch errors)
            return _error(InvalidArgument(
                f"The model could not score this input: {type(exc).__name__}: {exc}"
            ))
        try:
            return _json_response({"predictions": format_predictions(predictions)})
        except (TypeError, ValueError) as exc:
            return _error(InvalidArgument(f"The predictions could not be encoded as JSON: {exc}"), 500)

    async def invocations(request: Request) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type")
        if len(body) <= _INLINE_MAX_BYTES:
            return score(body, content_type)
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(score, body, content_type)

    app.add_route("/ping", ping, methods=["GET"])
    app.add_route("/health", ping, methods=["GET"])
    app.add_route("/version", version, methods=["GET"])
    app.add_route("/invocations", invocations, methods=["POST"])
    return app


def serve(model_uri: str, *, host: str = "127.0.0.1", port: int = 5001, workers: int = 1,
          log_level: str = "warning") -> None:
    """Load the model and serve it with uvicorn until interrupted."""
    import uvicorn

    from lockgate.models.pyfunc import load_model

    if workers > 1:
        import os

        os.environ["LOCKGATE_SERVE_MODEL_URI"] = model_uri
        uvicorn.run("lockgate.serving.app:_app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level=log_level)
        return
    app = create_scoring_app(load_model(model_uri))
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def _app_from_env() -> Any:
    import os

    return create_scoring_app(os.environ["LOCKGATE_SERVE_MODEL_URI"])
