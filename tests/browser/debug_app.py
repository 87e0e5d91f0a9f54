"""The app the browser tests serve: one route that fails, under ``MicroASGI(debug=True)``."""

from __future__ import annotations

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import Response
from microasgi.routing import Route, WebSocketRoute
from microasgi.websockets import WebSocket

# Would retitle the page and replace its body if it ever ran: the tests check it never does.
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"


def check_order(order: dict[str, int]) -> None:
    raise RuntimeError(f"order {order['id']} failed: {HOSTILE}")


async def fail(request: Request) -> Response:
    check_order({"id": 7})
    raise AssertionError("unreachable")  # pragma: no cover


async def fail_websocket(websocket: WebSocket) -> None:
    check_order({"id": 8})


app = MicroASGI(debug=True, routes=[Route("/fail", fail), WebSocketRoute("/ws", fail_websocket)])
