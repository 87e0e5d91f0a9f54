"""http.response.debug: information for tests, sent once before the response starts."""

from __future__ import annotations

from microasgi.responses import HTMLResponse
from microasgi.testclient import AsyncTestClient
from microasgi.types import HTTPResponseDebugEvent, Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    context = {"user": "alice"}
    if "http.response.debug" in (scope.get("extensions") or {}):
        debug: HTTPResponseDebugEvent = {
            "type": "http.response.debug",
            "info": {"template": "home.html", "context": context},
        }
        await send(debug)  # type: ignore[arg-type]
    await HTMLResponse(f"<p>hello {context['user']}</p>")(scope, receive, send)


async def test_the_client_records_debug_info() -> None:
    response = await AsyncTestClient(app).get("/")  # the client offers http.response.debug
    assert response.debug_info == {"template": "home.html", "context": {"user": "alice"}}
    assert response.template == "home.html"
    assert response.context == {"user": "alice"}


async def test_servers_do_not_offer_it() -> None:
    response = await AsyncTestClient(app, extensions={}).get("/")
    assert response.debug_info is None
