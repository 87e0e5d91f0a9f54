"""Routes, mounts, hosts and the router that dispatches between them.

The router compiles its routes once into a segment trie: a lookup costs the same with 10 routes as
with 10,000, and among the routes that match, the one declared first wins, exactly as Starlette's
linear scan would decide. A path that matches with the wrong method answers 405 with an ``Allow``
header listing every method that would have matched.

The names are defined in the ASGI layer's modules (``microasgi._routing.routes``, ``.hosts``,
``.router``; path templates in ``microasgi._sansio.paths``) and published here, their public home.
"""

from __future__ import annotations

import re
from typing import Any

from microasgi._routing.cancellation import Timeout
from microasgi._routing.hosts import Host
from microasgi._routing.router import Mount, Router
from microasgi._routing.routes import (
    BaseRoute,
    Match,
    NoMatchFound,
    Route,
    WebSocketRoute,
    get_name,
    request_response,
    websocket_session,
)
from microasgi._routing.templates import get_route_template
from microasgi._sansio.paths import compile_path as _compile_template
from microasgi._sansio.paths import replace_params
from microasgi.convertors import Convertor

__all__ = [
    "BaseRoute",
    "Host",
    "Match",
    "Mount",
    "NoMatchFound",
    "PARAM_FORMAT_REGEX",
    "PARAM_REGEX",
    "Route",
    "Router",
    "Timeout",
    "WebSocketRoute",
    "compile_path",
    "get_name",
    "get_route_template",
    "replace_params",
    "request_response",
    "websocket_session",
]

# The public home of these names is this module: docs, reprs and pickles name it.
for _public in (
    BaseRoute,
    Host,
    Match,
    Mount,
    NoMatchFound,
    Route,
    Router,
    Timeout,
    WebSocketRoute,
    get_name,
    get_route_template,
    replace_params,
    request_response,
    websocket_session,
):
    _public.__module__ = __name__
del _public

PARAM_REGEX = re.compile("{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?}")
"""Starlette's pattern of a ``{name}`` or ``{name:convertor}`` parameter in a path template:
group 1 is the name, group 2 ``":convertor"`` (or None). Routes parse their templates with their
own parser, which also reports malformed ones; this is for code written against Starlette's."""

PARAM_FORMAT_REGEX = re.compile("{([a-zA-Z_][a-zA-Z0-9_]*)}")
"""Starlette's pattern of a ``{name}`` placeholder in a path format (a template without its
converters, as ``compile_path`` returns it)."""


def compile_path(path: str) -> tuple[re.Pattern[str], str, dict[str, Convertor[Any]]]:
    """Starlette's helper: parse a path (``"/users/{id:int}"``) or host pattern
    (``"{sub}.example.org"``) into ``(regex, format, convertors)``.

    The regex matches a whole path (or host, without case and port); the format has the
    converters removed (``"/users/{id}"``). Routes compile their paths themselves: this is for
    code that needs the same parsing (custom routes, libraries written for Starlette).

    Raises:
        ValueError: the template is malformed or names an unknown converter.
    """
    if path.startswith("/"):
        compiled = _compile_template(path)
        return re.compile(f"^{compiled.regex.pattern}$", re.DOTALL), *_format(compiled)
    # As Starlette: a ":port" in the text after the last parameter is not matched (as in Host
    # routes, which ignore the port), but stays in the format; an IPv6 literal's colons are not
    # a port, and a parameter after the colon ("{host}:{port}") is matched like any other.
    params = list(PARAM_REGEX.finditer(path))
    start = params[-1].end() if params else 0
    tail = path[start:]
    matched = path
    if not tail.endswith("]") and ":" in tail:
        matched = path[:start] + tail.rsplit(":", 1)[0]
    pattern = _compile_template("/" + matched).regex.pattern.removeprefix("/")
    path_format, convertors = _format(_compile_template("/" + path))
    return re.compile(f"^{pattern}$", re.IGNORECASE), path_format.removeprefix("/"), convertors


def _format(compiled: Any) -> tuple[str, dict[str, Convertor[Any]]]:
    return compiled.path_format, dict(compiled.param_convertors)
