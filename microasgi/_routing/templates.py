"""The template of the route a request matched, across mounts: ``get_route_template`` (public in
``routing``).

Tracing and metrics group requests by route (OpenTelemetry's ``http.route``), so the name must
have low cardinality: ``/api/{version}/users/{id}``, never ``/api/v2/users/3``. It is built only
from the patterns the routers matched, never from the paths the request carried.

# PERF: routing records nothing extra for a route matched at the top: ``scope["route"]`` is set
# already. A ``Mount`` records itself in ``scope[ROUTE_MOUNTS_KEY]`` as it builds its child's
# scope (it builds a dict then anyway): one pair, ``(mount, what was there)``, about 1,100
# instructions per mount, which ``mount_scope`` pays back by not looking for a ``root_path``
# that is not there (docs/performance.md). A router below a matched route that finds no route
# writes ``None`` there, on the 404/405 path only. The parts are joined here, when asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ROUTE_MOUNTS_KEY = "microasgi.route_mounts"
"""The scope key where routing records the ``Mount`` routes a request went through: a pair
``(innermost mount, the pair of the mounts outside it or None)``; ``None`` once a router found
no route for the request."""


def get_route_template(scope: Mapping[str, Any]) -> str | None:
    """The template of the route that took this request, with every mount's prefix on the way:
    ``"/api/{version}/users/{id}"`` for ``Mount("/api/{version}", routes=[Route("/users/{id:int}",
    ...)])``. Converters are left out, as in ``Route.path_format``.

    Read it once routing is done: in an endpoint, or in a middleware after the response started
    or after the app returned. It reads ``scope["route"]`` (Starlette's key: the innermost route
    matched) and ``scope["microasgi.route_mounts"]`` (the mounts on the way).

    The template starts at the outermost microasgi router. A ``root_path`` set by the server
    (``--root-path``) or by a framework the app is mounted in is not part of it: it may hold real
    values (``Mount("/t/{tenant}", app=...)`` in the enclosing app sets ``root_path`` to
    ``/t/acme``) and only its patterns could say which parts are parameters.

    A mount of an app that is not a microasgi router (``StaticFiles``, a raw ASGI app) is the
    route itself: ``"/static"``, the prefix alone. A route of a foreign router mounted below
    (Starlette's) adds its ``path_format``.

    Returns:
        The template, or ``None`` when no route took the request: a 404, a 405, a redirect to
        the path with(out) a trailing slash, a ``Host`` whose app is not a router, or routing
        not done yet. OpenTelemetry's conventions name such a span by the method alone (``GET``)
        and leave ``http.route`` unset.
    """
    route = scope.get("route")
    if route is None:
        return None
    chain = scope.get(ROUTE_MOUNTS_KEY, ())
    if chain is None:
        return None  # a router below the last mount found no route
    mounts: list[Any] = []
    while chain:
        mount, chain = chain
        mounts.append(mount)
    prefix = "".join([mount.path_format for mount in reversed(mounts)])
    if mounts and route is mounts[0]:
        return prefix or "/"
    path_format = getattr(route, "path_format", None)
    if not isinstance(path_format, str):
        return None
    return prefix + path_format or "/"
