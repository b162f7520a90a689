"""The tracking server's FastAPI application, built by ``create_app``.

Nothing happens at import: the store, artifact destination and auth are set up when the
factory runs, once per worker process. ``app_from_env`` is the zero-argument factory that
``uvicorn --factory`` (and ``lockgate server --workers N``) import in each worker.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from lockgate.server.limits import ServerLimits
    from lockgate.store.base import TrackingStore

from lockgate.server.services import Services

__all__ = [
    "ENV_ARTIFACTS",
    "ENV_AUTH",
    "ENV_BACKEND",
    "ENV_SERVE_ARTIFACTS",
    "ENV_WEBHOOK_DELIVERY",
    "ServerState",
    "app_from_env",
    "create_app",
]

ENV_BACKEND = "LOCKGATE_SERVER_BACKEND_STORE_URI"
ENV_ARTIFACTS = "LOCKGATE_SERVER_ARTIFACTS_DESTINATION"
ENV_SERVE_ARTIFACTS = "LOCKGATE_SERVER_SERVE_ARTIFACTS"
ENV_AUTH = "LOCKGATE_SERVER_AUTH"
ENV_WEBHOOK_DELIVERY = "LOCKGATE_WEBHOOK_DELIVERY"

PROXY_ARTIFACT_ROOT = "mlflow-artifacts:/"
MLFLOW_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
NATIVE_PREFIX = "/api/v1"

access_log = logging.getLogger("lockgate.server.access")


@dataclass
class ServerState:
    """What every request handler shares: one store, the artifact destination, auth settings."""

    backend_store_uri: str
    artifacts_destination: str
    serve_artifacts: bool
    store: TrackingStore
    auth_enabled: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    services: Services = field(init=False)

    def __post_init__(self) -> None:
        self.services = Services(backend_store_uri=self.backend_store_uri,
                                 artifacts_destination=self.artifacts_destination, store=self.store)


class _TimingMiddleware:
    """Logs method, path, status and milliseconds for every request (pure ASGI: no per-request task)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [0]

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            access_log.info(
                "%s %s %d %.1fms", scope["method"], scope["path"], status[0], (time.perf_counter() - start) * 1000
            )


def _default_artifacts_destination() -> str:
    from lockgate import settings

    return settings.default_artifact_root()


def create_app(
    *,
    backend_store_uri: str | None = None,
    artifacts_destination: str | None = None,
    serve_artifacts: bool = True,
    auth: bool = False,
    limits: ServerLimits | None = None,
) -> FastAPI:
    """A ready-to-serve app on ``backend_store_uri`` (default: the tracking URI in force).

    With ``serve_artifacts`` (the default) experiments get ``mlflow-artifacts:/<id>`` locations
    and clients upload through this server's proxy into ``artifacts_destination``; without it,
    experiments point at the destination directly and clients write there themselves.
    ``limits`` (default: from ``LOCKGATE_SERVER_*`` variables) bounds request bodies.
    """
    from fastapi import FastAPI

    from lockgate import __version__, settings
    from lockgate.handshake import API_VERSION
    from lockgate.server.errors import install_error_handlers
    from lockgate.server.limits import ServerLimits
    from lockgate.server.middleware import CatchAllMiddleware, RequestBodyGuard
    from lockgate.server.openapi import install_openapi
    from lockgate.server.responses import json_response
    from lockgate.server.route_index import install_route_index
    from lockgate.server.routers import mlflow_tracking, native, native_auth, native_views
    from lockgate.store.sql.store import SqlStore

    uri = backend_store_uri or settings.tracking_uri()
    if settings.is_http_uri(uri):
        from lockgate.errors import InvalidArgument

        raise InvalidArgument(f"--backend-store-uri must be a database URI, not another server ({uri!r}).")
    destination = (artifacts_destination or _default_artifacts_destination()).rstrip("/") or "/"
    store = SqlStore(uri, artifact_root=PROXY_ARTIFACT_ROOT if serve_artifacts else destination)
    state = ServerState(
        backend_store_uri=uri,
        artifacts_destination=destination,
        serve_artifacts=serve_artifacts,
        store=store,
        auth_enabled=auth,
    )

    app = FastAPI(
        lifespan=_webhook_delivery(state),
        title="Lockgate tracking server",
        version=__version__,
        description="Lockgate's native API under /api/v1, and MLflow's REST API under /api/2.0/mlflow.",
        docs_url="/docs",
        openapi_url="/api/v1/openapi.json",
    )
    app.state.lockgate = state
    install_error_handlers(app)

    _add_mlflow_routes(app, mlflow_tracking)
    for module in (native, native_auth, native_views):
        _add_routes(app, module.build_router(NATIVE_PREFIX))
    _include_optional_routers(app, state)
    install_openapi(app)

    @app.get("/health", tags=["server"], summary="Liveness: OK when the server can answer")
    async def health() -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("OK")

    @app.get("/version", tags=["server"], summary="The server's version string")
    async def version() -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse(__version__)

    @app.get("/api/v1/server-info", tags=["server"], summary="What this server is configured to do")
    async def server_info() -> Any:
        return json_response(
            {"version": __version__, "api_version": API_VERSION, "serve_artifacts": serve_artifacts,
             "auth": state.auth_enabled}
        )

    @app.get("/api/3.0/mlflow/server-info", tags=["server"], summary="MLflow 3's capability probe")
    @app.get("/ajax-api/3.0/mlflow/server-info", include_in_schema=False)
    async def mlflow_server_info() -> Any:
        # What the stock client reads before large uploads; multipart (presigned) transfers are
        # not offered, so it streams every file through the artifact proxy.
        return json_response(
            {"store_type": "SqlStore", "workspaces_enabled": False, "trace_archival_enabled": False,
             "multipart_uploads_enabled": False, "multipart_downloads_enabled": False,
             "presigned_upload_run_id_supported": False, "presigned_upload_model_id_supported": False,
             "features_enabled": {"gateway": False}}
        )

    # Added innermost first: timing -> catch-all -> auth -> body guard -> routes, so a request
    # without credentials is refused before its body is read.
    app.add_middleware(RequestBodyGuard, limits=limits or ServerLimits.from_env())
    if auth:
        from lockgate.server.auth.middleware import AuthMiddleware
        from lockgate.server.auth.store import AuthStore
        from lockgate.server.auth.throttle import LoginThrottle

        auth_store = AuthStore(uri, throttle=LoginThrottle())
        auth_store.bootstrap_admin_from_env()
        state.services.auth = auth_store

        app.add_middleware(AuthMiddleware, state=state)
    app.add_middleware(CatchAllMiddleware)
    from lockgate.ui import mount_ui

    mount_ui(app)  # last: its fallback route answers every other GET with the UI shell
    app.add_middleware(_TimingMiddleware)
    install_route_index(app)
    return app


def _add_routes(app: Any, router: Any) -> None:
    """Add ``router``'s routes, built with their final paths, to ``app`` as they are.

    ``app.include_router`` would build every route a second time for its prefix (FastAPI
    >= 0.140 does it on the first request, which then waited ~0.2 s CPU for all of them;
    older releases at once): analysing each endpoint's parameters and building its pydantic
    fields again (docs/performance.md, start-up).
    """
    app.router.routes.extend(router.routes)


def _add_mlflow_routes(app: Any, module: Any) -> None:
    """``module``'s MLflow endpoints under each of ``MLFLOW_PREFIXES``, documented under the first.

    The routes are built once; under the other prefixes (``/ajax-api``, which MLflow's UI
    calls) they are copies answering at their own paths, so errors and middleware see the
    real path. Building them again (the endpoints' parameter analysis and pydantic fields do
    not depend on the prefix) was about a quarter of all route building at start.
    """
    from starlette.routing import compile_path

    first, *others = MLFLOW_PREFIXES
    router = module.build_router(first)
    _add_routes(app, router)
    for prefix in others:
        for route in router.routes:
            twin = copy.copy(route)
            twin.path = prefix + route.path.removeprefix(first)
            twin.path_regex, twin.path_format, twin.param_convertors = compile_path(twin.path)
            twin.include_in_schema = False
            app.router.routes.append(twin)


def _include_optional_routers(app: Any, state: ServerState) -> None:
    """Artifact proxy and registry routers; each needs a subsystem that may not be installed."""
    if state.serve_artifacts:
        from lockgate.server.routers import mlflow_artifacts

        _add_routes(app, mlflow_artifacts.build_router("/api/2.0/mlflow-artifacts"))
    from lockgate.server.routers import mlflow_logged_models

    mlflow_modules: list[Any] = [mlflow_logged_models]
    if importlib.util.find_spec("lockgate.registry") is not None:
        from lockgate.server.routers import (
            mlflow_registry,
            mlflow_webhooks,
            native_import,
            native_registry,
            native_registry_views,
            native_webhooks,
        )

        mlflow_modules += [mlflow_registry, mlflow_webhooks]
        for module in (native_registry, native_registry_views, native_webhooks, native_import):
            _add_routes(app, module.build_router(NATIVE_PREFIX))
    for module in mlflow_modules:
        _add_mlflow_routes(app, module)


def _webhook_delivery(state: ServerState) -> Any:
    """The app's lifespan: the webhook delivery loop runs while the server does (unless
    ``LOCKGATE_WEBHOOK_DELIVERY=off``, or the registry is not installed)."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        if not _env_flag(ENV_WEBHOOK_DELIVERY, True) or importlib.util.find_spec("lockgate.registry") is None:
            yield
            return
        from lockgate.webhooks.dispatcher import WebhookDispatcher

        dispatcher = WebhookDispatcher(state.services.webhooks)
        dispatcher.start()
        state.extras["webhook_dispatcher"] = dispatcher
        try:
            yield
        finally:
            await dispatcher.stop()

    return lifespan


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def app_from_env() -> FastAPI:
    """The app configured from ``LOCKGATE_SERVER_*`` variables: one call per worker process."""
    return create_app(
        backend_store_uri=os.environ.get(ENV_BACKEND) or None,
        artifacts_destination=os.environ.get(ENV_ARTIFACTS) or None,
        serve_artifacts=_env_flag(ENV_SERVE_ARTIFACTS, True),
        auth=_env_flag(ENV_AUTH, False),
    )
