"""The client's lifecycle as Starlette's: open responses, closing early, ASGI 2 apps, lifespan errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest

from microasgi.testclient import AsyncTestClient, TestClient
from microasgi.types import Receive, Scope, Send

log: list[str] = []


async def ticker(scope: Scope, receive: Receive, send: Send) -> None:
    """Stream a tick, then wait for ever: only the client leaving ends it."""
    if scope["type"] == "lifespan":
        return  # no lifespan: the client carries on without it
    await send({"type": "http.response.start", "status": 200, "headers": []})
    try:
        await send({"type": "http.response.body", "body": b"tick", "more_body": True})
        await anyio.sleep_forever()
    except anyio.get_cancelled_exc_class():
        log.append("cancelled")  # the client left while the app waited on something else
        raise


def test_open_responses_are_closed_with_the_client() -> None:
    log.clear()
    with TestClient(ticker) as client:
        request = client.build_request("GET", "/")  # as with HTTPX
        response = client.send(request, stream=True)  # back as soon as the app starts it
        assert next(response.iter_bytes()) == b"tick"
    assert log == ["cancelled"]  # leaving the block (or client.close()) cancelled it


async def test_closing_a_response_early() -> None:
    log.clear()
    async with AsyncTestClient(ticker).stream("GET", "/") as response:
        assert await anext(response.aiter_bytes()) == b"tick"
        await response.aclose()  # before the end: the app is cancelled, and awaited
        assert log == ["cancelled"]


def legacy_app(scope: Scope) -> Callable[[Receive, Send], Awaitable[None]]:
    """An ASGI 2 app: called with the scope, the instance awaited with receive and send."""

    async def instance(receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ASGI 2"})

    return instance


def test_asgi2_apps_are_driven_too() -> None:
    assert TestClient(legacy_app).get("/").text == "ASGI 2"  # type: ignore[arg-type]


async def http_only(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "http", f"unsupported scope type {scope['type']!r}"
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_an_app_raising_on_lifespan_fails_the_with_block() -> None:
    with pytest.raises(AssertionError, match="unsupported scope type 'lifespan'"):
        with TestClient(http_only):  # as Starlette's client: the startup fails with it
            pass  # pragma: no cover
    assert TestClient(http_only).get("/").status_code == 204  # no `with`: no lifespan


async def with_background(scope: Scope, receive: Receive, send: Send) -> None:
    """A complete response whose background work never ends."""
    if scope["type"] == "lifespan":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"done"})
    try:
        await anyio.sleep_forever()
    except anyio.get_cancelled_exc_class():
        log.append("background cancelled")
        raise


def test_closing_the_client_cancels_what_is_left_open() -> None:
    log.clear()
    client = TestClient(with_background)
    response = client.send(client.build_request("GET", "/"), stream=True)
    assert next(response.iter_bytes()) == b"done"  # the body is complete, the app still runs
    client.close()  # as Starlette's client: cancelled, the test never hangs on it
    assert log == ["background cancelled"]
