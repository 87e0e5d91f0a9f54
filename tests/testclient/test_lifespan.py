"""Lifespan in TestClient and AsyncTestClient: startup, state, shutdown, failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from microasgi.testclient import ASGIProtocolError, AsyncTestClient, TestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

TestClientFactory = Callable[..., TestClient]


def lifespan_app(
    *,
    startup: Message | None = None,
    shutdown: Message | None = None,
    raise_after: str | None = None,
) -> ASGIApp:
    """Answers lifespan with ``startup``/``shutdown`` and HTTP with ``scope["state"]``; logs all."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            log.append(message["type"])
            if "state" in scope:
                scope["state"]["db"] = "connected"
                scope["state"]["items"] = []
            await send(startup or {"type": "lifespan.startup.complete"})
            if raise_after == "startup":
                raise RuntimeError("startup exploded")
            if startup and startup["type"] == "lifespan.startup.failed":
                return
            message = await receive()
            log.append(message["type"])
            await send(shutdown or {"type": "lifespan.shutdown.complete"})
            if raise_after == "shutdown":
                raise RuntimeError("shutdown exploded")
            return
        state = scope.get("state")
        if state:
            state["items"].append(scope["path"])  # the shallow copy shares the list
            state["per_request"] = scope["path"]  # but not the keys
        body = repr(sorted(state.items()) if state is not None else None).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    log: list[str] = []
    app.log = log  # type: ignore[attr-defined]
    return app


def test_lifespan_runs_around_the_block(test_client_factory: TestClientFactory) -> None:
    app = lifespan_app()
    with test_client_factory(app) as client:
        assert app.log == ["lifespan.startup"]  # type: ignore[attr-defined]
        assert client.app_state == {"db": "connected", "items": []}
        assert (
            client.get("/a").text
            == "[('db', 'connected'), ('items', ['/a']), ('per_request', '/a')]"
        )
        assert (
            client.get("/b").text
            == "[('db', 'connected'), ('items', ['/a', '/b']), ('per_request', '/b')]"
        )
        with client.stream("GET", "/c") as response:
            assert b"/c" in response.read()
    assert app.log == ["lifespan.startup", "lifespan.shutdown"]  # type: ignore[attr-defined]


async def test_async_lifespan_with_state() -> None:
    app = lifespan_app()
    async with AsyncTestClient(app) as client:
        assert (await client.get("/a")).text.startswith("[('db', 'connected')")
    assert app.log == ["lifespan.startup", "lifespan.shutdown"]  # type: ignore[attr-defined]


async def test_no_lifespan_empty_state() -> None:
    # As in Starlette's client: outside the lifespan block, requests get an empty state.
    app = lifespan_app()
    assert (await AsyncTestClient(app).get("/")).text == "[]"
    assert app.log == []  # type: ignore[attr-defined]


async def test_state_can_be_turned_off() -> None:
    app = lifespan_app()
    async with AsyncTestClient(app, lifespan_state=False) as client:
        assert client.app_state is None
        assert (await client.get("/")).text == "None"
    assert app.log == ["lifespan.startup", "lifespan.shutdown"]  # type: ignore[attr-defined]


async def raising_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        raise ValueError(f"unsupported scope type {scope['type']!r}")
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def http_only_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def returning_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await http_only_app(scope, receive, send)


@pytest.mark.parametrize("app", [http_only_app, returning_app])
def test_lifespan_unsupported_is_tolerated(
    test_client_factory: TestClientFactory, app: ASGIApp
) -> None:
    # An app that returns on the lifespan scope without a word, or answers it as HTTP, does not
    # support lifespan: as servers do, the client carries on without it.
    with test_client_factory(app) as client:
        assert client.app_state is None
        assert client.get("/").status_code == 204


def test_an_exception_on_the_lifespan_scope_is_raised(
    test_client_factory: TestClientFactory,
) -> None:
    # As in Starlette's client: an exception from the app call fails the startup, with a note.
    with pytest.raises(ValueError, match="unsupported scope type 'lifespan'") as caught:
        with test_client_factory(raising_app):
            pass  # pragma: no cover
    assert "return when scope['type'] == 'lifespan'" in caught.value.__notes__[0]
    assert test_client_factory(raising_app).get("/").status_code == 204  # without `with`: fine


async def test_an_exception_on_the_lifespan_scope_is_raised_async() -> None:
    with pytest.raises(ValueError, match="unsupported scope type 'lifespan'"):
        async with AsyncTestClient(raising_app):
            pass  # pragma: no cover


@pytest.mark.parametrize(
    ("app", "error", "message"),
    [
        (
            lifespan_app(startup={"type": "lifespan.startup.failed", "message": "no db"}),
            RuntimeError,
            "startup failed: no db",
        ),
        (
            lifespan_app(startup={"type": "lifespan.startup.failed"}),
            RuntimeError,
            r"startup failed: \(no message\)",
        ),
        (
            lifespan_app(
                startup={"type": "lifespan.startup.failed", "message": "m"}, raise_after="startup"
            ),
            RuntimeError,
            "startup exploded",
        ),
        (
            # Servers only show the message, whatever its type (strict mode wants a str).
            lifespan_app(startup={"type": "lifespan.startup.failed", "message": 3}),
            RuntimeError,
            "startup failed: 3",
        ),
        (
            lifespan_app(startup={"type": "lifespan.shutdown.complete"}),
            ASGIProtocolError,
            "lifespan.order",
        ),
    ],
)
async def test_startup_failures_raise(app: ASGIApp, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        async with AsyncTestClient(app):
            pass  # pragma: no cover


@pytest.mark.parametrize(
    ("app", "error", "message"),
    [
        (
            lifespan_app(shutdown={"type": "lifespan.shutdown.failed", "message": "stuck"}),
            RuntimeError,
            "shutdown failed: stuck",
        ),
        (
            lifespan_app(shutdown={"type": "lifespan.shutdown.failed"}),
            RuntimeError,
            r"shutdown failed: \(no message\)",
        ),
        (lifespan_app(raise_after="shutdown"), RuntimeError, "shutdown exploded"),
        (
            lifespan_app(shutdown={"type": "lifespan.startup.complete"}),
            ASGIProtocolError,
            "lifespan.order",
        ),
    ],
)
def test_shutdown_failures_raise(
    test_client_factory: TestClientFactory, app: ASGIApp, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message), test_client_factory(app) as client:
        assert client.get("/").status_code == 200


async def test_returning_without_answering_shutdown() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()

    with pytest.raises(ASGIProtocolError) as caught:
        async with AsyncTestClient(app):
            pass
    assert caught.value.rule == "lifespan.incomplete"


async def test_sending_twice_is_an_order_error_even_if_swallowed() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        for _ in range(2):
            try:
                await send({"type": "lifespan.startup.complete"})
            except AssertionError:
                pass
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    with pytest.raises(ASGIProtocolError) as caught:
        async with AsyncTestClient(app):
            pass
    assert caught.value.rule == "lifespan.order"


async def test_lifespan_scope() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.update(scope)
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    async with AsyncTestClient(app, spec_version="2.3"):
        pass
    assert seen == {
        "type": "lifespan",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "state": {},
    }
