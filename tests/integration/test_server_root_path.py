"""Each server's root-path option, measured: what reaches the app, how it routes, ``url_for``.

An extra instance of each server runs with ``ROOT_PATH`` (uvicorn, hypercorn, daphne and
gunicorn ``--root-path``, granian ``--url-path-prefix``). The client asks for the route with and without
the prefix, as a proxy that keeps it or strips it would forward the request.
"""

from __future__ import annotations

import json

import pytest

from .clients import Target, fetch
from .servers import HOST, ROOT_NAMES, ROOT_PATH, Server

pytestmark = pytest.mark.integration

ROUTE = "/items/3"
# server: {requested path: the scope path the app saw, or None for a 404}. Measured: uvicorn
# prepends root_path to the request target (it expects the proxy to have stripped the prefix),
# so a prefixed request becomes /prefix/prefix/items/3 and is not found; the others pass the
# path as received, and microasgi's router routes it with or without the prefix.
SEEN: dict[str, dict[str, str | None]] = {
    "uvicorn-root": {ROOT_PATH + ROUTE: None, ROUTE: ROOT_PATH + ROUTE},
    "hypercorn-root": {ROOT_PATH + ROUTE: ROOT_PATH + ROUTE, ROUTE: ROUTE},
    "granian-root": {ROOT_PATH + ROUTE: ROOT_PATH + ROUTE, ROUTE: ROUTE},
    "daphne-root": {ROOT_PATH + ROUTE: ROOT_PATH + ROUTE, ROUTE: ROUTE},
    "gunicorn-root": {ROOT_PATH + ROUTE: ROOT_PATH + ROUTE, ROUTE: ROUTE},
}


@pytest.mark.parametrize("name", ROOT_NAMES)
@pytest.mark.parametrize("requested", [ROOT_PATH + ROUTE, ROUTE])
def test_root_path_routing_and_url_for(
    servers: dict[str, Server], name: str, requested: str
) -> None:
    where = Target(name, servers[name], "h1")
    reply = fetch(where, "GET", requested)
    seen = SEEN[name][requested]
    if seen is None:
        assert reply.status == 404
        return
    assert reply.status == 200
    info = json.loads(reply.body)
    assert (info["path"], info["root_path"], info["item_id"]) == (seen, ROOT_PATH, 3)
    # url_for always names the public URL, prefix included, whichever form arrived.
    assert info["url"] == f"http://{HOST}:{where.port}{ROOT_PATH}{ROUTE}"


@pytest.mark.parametrize("name", ROOT_NAMES)
def test_a_path_merely_starting_like_the_root_path_is_not_stripped(
    servers: dict[str, Server], name: str
) -> None:
    # /prefixed is not under /prefix: the router matches the prefix at a segment boundary only.
    reply = fetch(Target(name, servers[name], "h1"), "GET", f"{ROOT_PATH}ed{ROUTE}")
    assert reply.status == 404
