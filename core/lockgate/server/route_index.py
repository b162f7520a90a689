"""Route lookup by exact path: a request tries only the routes that can match its path.

The app has a few hundred routes (MLflow's API under two prefixes, the native API, the UI), and
Starlette's router tries them one by one, a regular expression each, until one matches: a
request for a route near the end (``/health``, the registry, the native API) spent more time
there than in its endpoint (docs/performance.md, "Request path, round 2").

``install_route_index`` puts an index in front of the router's own dispatch. For a path that
some route serves verbatim (no ``{parameter}``), it keeps the routes that can match that path,
in the router's order (every route whose pattern matches it, and every mount or other routing
object whatever its pattern), and hands the request to the router's own dispatch over just
those. The same route wins as with the full list (the first full match, else the first
method-only match: a 405), because every other route answers "no match" for that path. Any
other path (with parameters, a trailing-slash redirect, a 404) goes through the full list.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["RouteIndex", "install_route_index"]


class RouteIndex:
    """ASGI app: the router's dispatch, over the routes that can match the request's path."""

    def __init__(self, router: Any) -> None:
        self.router = router
        self.dispatch = router.app
        self._key: tuple[int, int] | None = None
        self._by_path: dict[str, Any] = {}

    def _index(self) -> dict[str, Any]:
        routes = self.router.routes
        key = (id(routes), len(routes))
        if key != self._key:  # routes were added since (tests, late mounts): index again
            self._by_path = self._build(routes)
            self._key = key
        return self._by_path

    def _build(self, routes: list[Any]) -> dict[str, Any]:
        from starlette.routing import Route

        static = {route.path for route in routes if _is_static(route)}
        by_path: dict[str, Any] = {}
        for path in static:
            candidates = [r for r in routes if not isinstance(r, Route) or r.path_regex.match(path)]
            narrowed = copy.copy(self.router)  # the same router, over fewer routes
            narrowed.routes = candidates
            by_path[path] = narrowed
        return by_path

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            narrowed = self._index().get(scope["path"])
            if narrowed is not None:
                # url_for and friends look routes up on the real router.
                scope.setdefault("router", self.router)
                await narrowed.app(scope, receive, send)
                return
        await self.dispatch(scope, receive, send)


def _is_static(route: Any) -> bool:
    from starlette.routing import Route

    return isinstance(route, Route) and "{" not in route.path


def install_route_index(app: Any) -> bool:
    """Route ``app``'s requests through a ``RouteIndex``; False (nothing changed) when the
    router has middleware of its own, which the index would bypass."""
    router = app.router
    if getattr(router, "middleware_stack", None) != router.app:
        return False
    router.middleware_stack = RouteIndex(router)
    return True
