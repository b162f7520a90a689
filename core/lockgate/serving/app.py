"""The scoring server: ``/invocations`` speaks MLflow's protocol over any Lockgate model.

``create_scoring_app(model)`` builds a FastAPI app around a loaded ``PyFuncModel`` (or a model
URI). Bad requests get a 400 JSON body naming the problem; the app never answers a client
mistake with a 500.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument, LockgateError

if TYPE_CHECKING:
    from lockgate.serving.follow import ServedModel

__all__ = ["VERSION_HEADER", "create_scoring_app", "serve"]

#: Response header naming the model version that answered (models served from the registry).
VERSION_HEADER = "X-Lockgate-Model-Version"


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


def _source(model: Any) -> tuple[Callable[[], ServedModel], Callable[[], dict[str, Any]], Any]:
    """How the app reads the served model, its /health body, and its lifespan."""
    from contextlib import asynccontextmanager

    from lockgate.serving.follow import ModelFollower, ServedModel, load_served_model

    if isinstance(model, ModelFollower):
        follower = model

        @asynccontextmanager
        async def following(app: Any) -> AsyncIterator[None]:
            from starlette.concurrency import run_in_threadpool

            await run_in_threadpool(follower.start)
            yield
            await run_in_threadpool(follower.stop)

        return (lambda: follower.current), follower.status, following
    if isinstance(model, ServedModel):
        served = model
    elif isinstance(model, str) or hasattr(model, "__fspath__"):
        import os

        served = load_served_model(os.fspath(model))
    else:
        served = ServedModel(model=model, uri=str(getattr(model, "model_dir", "")))
    return (lambda: served), (lambda: {"status": "ok", "model": served.describe()}), None


def create_scoring_app(model: Any) -> Any:
    """A FastAPI app serving ``model`` on /invocations.

    ``model`` is a PyFuncModel, a model URI (path, ``runs:/``, ``models:/``), a ``ServedModel``,
    or a ``ModelFollower`` (serve whichever version an alias names, swapping as it moves).
    ``/health`` and ``/version`` report the served model's name, alias, version and run.
    """
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import Response

    from lockgate import __version__
    from lockgate.serving.payload import format_predictions, parse_request

    current, health_body, lifespan = _source(model)
    app = FastAPI(title="Lockgate scoring server", version=__version__, docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.current = current
    if lifespan is None:
        app.state.model = current().model

    async def ping(request: Request) -> Response:
        return Response(content="\n", status_code=200, media_type="application/json")

    async def health(request: Request) -> Response:
        return _json_response(health_body())

    async def version(request: Request) -> Response:
        return _json_response({"lockgate_version": __version__, "model": current().describe()})

    # Plain Starlette routes skip FastAPI's parameter machinery, which the raw-body protocol
    # does not need.
    def score(served: ServedModel, body: bytes, content_type: str | None) -> Response:
        try:
            data, params = parse_request(body, content_type)
        except InvalidArgument as exc:
            return _error(exc, exc.details.pop("status", None))
        model = served.model
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
        # Read once: the request finishes on this model even if a follower swaps meanwhile.
        served = current()
        body = await request.body()
        content_type = request.headers.get("content-type")
        if len(body) <= _INLINE_MAX_BYTES:
            response = score(served, body, content_type)
        else:
            from starlette.concurrency import run_in_threadpool

            response = await run_in_threadpool(score, served, body, content_type)
        if served.version is not None:
            response.headers[VERSION_HEADER] = str(served.version)
        return response

    app.add_route("/ping", ping, methods=["GET"])
    app.add_route("/health", health, methods=["GET"])
    app.add_route("/version", version, methods=["GET"])
    app.add_route("/invocations", invocations, methods=["POST"])
    return app


def serve(model_uri: str, *, host: str = "127.0.0.1", port: int = 5001, workers: int = 1,
          log_level: str = "warning", follow: bool = False, poll_interval: float = 1.0) -> None:
    """Load the model and serve it with uvicorn until interrupted.

    With ``follow`` the model URI must name an alias (``models:/churn@champion``): the server
    swaps to each new holder of the alias (see ``ModelFollower``); each worker follows on its own.
    """
    import os

    import uvicorn

    from lockgate.serving.follow import ModelFollower, load_served_model

    if follow:
        _log_swaps()
        follower = ModelFollower(model_uri, poll_interval=poll_interval)
    if workers > 1:
        os.environ["LOCKGATE_SERVE_MODEL_URI"] = model_uri
        os.environ["LOCKGATE_SERVE_FOLLOW"] = str(poll_interval) if follow else ""
        uvicorn.run("lockgate.serving.app:_app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level=log_level)
        return
    # Load before binding the port, so a bad URI is one clear error, not a failed startup.
    source = follower.start() if follow else load_served_model(model_uri)
    uvicorn.run(create_scoring_app(source), host=host, port=port, log_level=log_level)


def _log_swaps() -> None:
    """Show the follower's swaps and refusals on stderr (uvicorn configures only its own loggers)."""
    import logging

    log = logging.getLogger("lockgate.serving")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def _app_from_env() -> Any:
    import os

    from lockgate.serving.follow import ModelFollower

    uri = os.environ["LOCKGATE_SERVE_MODEL_URI"]
    interval = os.environ.get("LOCKGATE_SERVE_FOLLOW")
    if interval:
        _log_swaps()
        return create_scoring_app(ModelFollower(uri, poll_interval=float(interval)))
    return create_scoring_app(uri)
