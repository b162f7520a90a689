"""Serve the web UI from a FastAPI app: assets under ``/static``, and the app's HTML shell for
every other non-API GET (deep links such as ``/runs/<id>`` load the app, which routes them).

UI pages carry a strict Content-Security-Policy: scripts and styles only from this server,
no inline script, no frames, images only from here or blob:/data: URLs the app made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["API_PREFIXES", "STATIC_DIR", "UI_CSP", "is_ui_path", "mount_ui"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_PREFIXES = ("/api/", "/ajax-api/")
UI_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
UI_HEADERS = {
    "Content-Security-Policy": UI_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


def is_ui_path(path: str) -> bool:
    """True for paths that serve the UI shell or its assets: they hold no data, so they are
    public even with auth on (the app then asks for credentials)."""
    return not path.startswith(API_PREFIXES) and path != "/api"


def mount_ui(app: Any) -> None:
    """Add the UI routes to ``app``; call it after every API router (its fallback is last)."""
    from starlette.responses import Response
    from starlette.staticfiles import StaticFiles

    from lockgate.errors import NotFound

    index = STATIC_DIR / "index.html"
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="ui-static")

    def shell() -> Response:
        if not index.is_file():
            raise NotFound("The web UI is not built in this install (lockgate/ui/static is empty); "
                           "see docs/ui.md to build it.")
        return Response(index.read_bytes(), media_type="text/html; charset=utf-8", headers=UI_HEADERS)

    @app.get("/", include_in_schema=False)
    async def ui_root() -> Response:
        return shell()

    @app.get("/{full_path:path}", include_in_schema=False)
    async def ui_fallback(full_path: str) -> Response:
        if not is_ui_path("/" + full_path):
            from starlette.exceptions import HTTPException

            raise HTTPException(404)  # the API's own "no such endpoint" answer
        return shell()
