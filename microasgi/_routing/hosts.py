"""``Host``: the app for requests to one host name, or a pattern of them (public in ``routing``)."""

from __future__ import annotations

import re
from typing import Any

from microasgi._routing.routes import (
    AnyApp,
    BaseRoute,
    Match,
    NoMatchFound,
    asgi3,
    try_url_path_for,
)
from microasgi._sansio.hosts import split_host
from microasgi._sansio.paths import CompiledPath, compile_path, fill_template, match_compiled
from microasgi.convertors import Convertor
from microasgi.datastructures import URLPath
from microasgi.types import Receive, Scope, Send

# The ":port" ending a host pattern: after any "]" of an IPv6 literal, outside any {param:conv}.
_PORT = re.compile(r":((?:[^:{}\]]|{[^}]*})*)$")


class Host(BaseRoute):
    """Another ASGI app for requests to a host name: ``Host("{tenant}.example.com", app)``.

    Matching ignores case and, as Starlette, the port: the ``Host`` header's and the pattern's
    (``Host("localhost:8000", app)`` matches ``localhost`` on any port). Reversing keeps the
    pattern's port: ``url_path_for`` through it gives the host ``localhost:8000``. A ``{param}``
    matches one DNS label and becomes a path parameter (``{param:int}`` etc. work as in paths).

    Raises:
        ValueError: the pattern looks like a URL or a path.
    """

    def __init__(self, host: str, app: AnyApp, name: str | None = None) -> None:
        if "/" in host or not host:
            raise ValueError(
                f"Host needs a host name pattern, not a URL, got {host!r}. Use 'example.com' "
                "or '{subdomain}.example.com'."
            )
        # Lowercase the literal text only: parameter names keep their case.
        self.host = re.sub(r"[^{}]+(?={|$)", lambda m: m[0].lower(), host)
        # As Starlette: the port of the pattern is not compared (nor the Host header's), so
        # Host("localhost:8000", ...) matches localhost on any port; reversing keeps it, so
        # url_path_for gives the host "localhost:8000".
        pattern = self.host
        self._port: CompiledPath | None = None
        port = _PORT.search(pattern)
        if port is not None:
            pattern, self._port = pattern[: port.start()], compile_path("/" + port[1])
        # Host labels use the path compiler: one label per "segment".
        self._compiled = compile_path("/" + pattern.replace(".", "/"))
        self.app = asgi3(app)
        self.name = name

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes of the app behind this host (empty for another kind of app)."""
        routes: list[BaseRoute] = getattr(self.app, "routes", [])
        return routes

    @property
    def param_convertors(self) -> dict[str, Convertor[Any]]:
        """Each host parameter's converter."""
        return self._compiled.param_convertors

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return Match.NONE, {}
        parsed = None
        for key, value in scope.get("headers", ()):
            if key == b"host":
                # SECURITY: a malformed Host ("[::1]:", "example.org:evil") matches no Host
                # route, as in Starlette.
                parsed = split_host(value.decode("latin-1"))
                break
        if parsed is None:
            return Match.NONE, {}
        found = match_compiled(self._compiled, "/" + parsed.name.replace(".", "/"))
        if found is None:
            return Match.NONE, {}
        return Match.FULL, {
            "path_params": {**scope.get("path_params", {}), **found[0]},
            "endpoint": self.app,
        }

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if self.name is not None and name == self.name and "path" in path_params:
            # The host itself: url_path_for("tenant", subdomain="acme", path="/a").
            params = dict(path_params)
            path = str(params.pop("path"))
            host = self._reverse_host(params)
            if not params:
                return URLPath(path, host=host)
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            remaining = dict(path_params)
            host = self._reverse_host(remaining)
            for route in self.routes:
                url = try_url_path_for(route, child_name, remaining)
                if url is not None:
                    return URLPath(url, protocol=url.protocol, host=host)
        raise NoMatchFound(name, path_params)

    def _reverse_host(self, params: dict[str, Any]) -> str:
        """The host (and the pattern's port) for ``params``, popping the params it takes."""
        host = fill_template(self._compiled, params)[1:].replace("/", ".")
        if self._port is not None:
            host += ":" + fill_template(self._port, params)[1:]
        return host

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Host) and self.host == other.host and self.app == other.app

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # As Starlette: an unnamed host shows name=''.
        name = self.name or ""
        return f"{type(self).__name__}(host={self.host!r}, name={name!r}, app={self.app!r})"
