"""The router's lifespan: state to requests, failures, mounted apps, servers without lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

from microasgi._routing.lifespan import LifespanError
from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Host, Mount, Route, Router
from microasgi.testclient import AsyncTestClient, TestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

ClientFactory = Callable[..., TestClient]
During = Callable[[Scope], Awaitable[None]]


async def run_lifespan(
    app: ASGIApp,
    *,
    with_state: bool = True,
    incoming: Sequence[str] = ("lifespan.startup", "lifespan.shutdown"),
    during: During | None = None,
) -> tuple[list[Message], Scope, Exception | None]:
    """Drive the lifespan protocol as a server does; ``during`` runs between startup and shutdown.

    Returns what the app sent, the lifespan scope, and the exception the app raised (if any).
    """
    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
    if with_state:
        scope["state"] = {}
    queue = list(incoming)
    sent: list[Message] = []

    async def receive() -> Message:
        if len(queue) == 1 and during is not None and len(incoming) > 1:
            await during(scope)
        return {"type": queue.pop(0)}

    async def send(message: Message) -> None:
        sent.append(message)

    error: Exception | None = None
    try:
        await app(scope, receive, send)
    except Exception as exc:
        error = exc
    return sent, scope, error


def types(messages: list[Message]) -> list[str]:
    return [message["type"] for message in messages]


async def show_state(request: Request) -> Response:
    return PlainTextResponse(repr(sorted(request.scope.get("state", {}).items())))


def recording_lifespan(
    log: list[str], name: str, state: dict[str, Any] | None = None
) -> Callable[[Any], Any]:
    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any] | None]:
        log.append(f"{name} startup")
        yield state
        log.append(f"{name} shutdown")

    return lifespan


# --- state ------------------------------------------------------------------------------------


def test_state_reaches_request_state_through_the_client(
    test_client_factory: ClientFactory,
) -> None:
    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        yield {"db": "connected"}

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(request.state.db)

    app = MicroASGI(routes=[Route("/", endpoint)], lifespan=lifespan)
    with test_client_factory(app) as client:
        assert client.get("/").text == "connected"
        assert client.app_state == {"db": "connected"}


def test_state_reaches_requests_when_the_server_offers_no_state(
    test_client_factory: ClientFactory,
) -> None:
    log: list[str] = []
    router = Router(
        [Route("/", show_state), Mount("/m", routes=[Route("/", show_state)])],
        lifespan=recording_lifespan(log, "app", {"db": 1}),
    )
    with test_client_factory(router, lifespan_state=False) as client:
        assert client.app_state is None
        assert client.get("/").text == "[('db', 1)]"
        assert client.get("/m/").text == "[('db', 1)]"
    assert log == ["app startup", "app shutdown"]


async def test_fallback_state_is_copied_per_request_and_keeps_earlier_keys() -> None:
    async def endpoint(request: Request) -> Response:
        request.state.seen = True
        return PlainTextResponse(repr(sorted(request.scope["state"].items())))

    router = Router([Route("/", endpoint)], lifespan=recording_lifespan([], "app", {"db": 1}))
    texts: list[str] = []

    async def during(scope: Scope) -> None:
        client = AsyncTestClient(router)
        texts.append((await client.get("/")).text)
        texts.append((await client.get("/")).text)
        # A middleware that set state before the router keeps its keys.
        scope_state = {"db": "mine"}
        request_scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
        request_scope["state"] = scope_state
        await router(request_scope, _receive_nothing, _discard)
        texts.append(repr(sorted(scope_state.items())))

    _, scope, error = await run_lifespan(router, with_state=False, during=during)
    assert error is None
    assert "state" not in scope
    assert texts == [
        "[('db', 1), ('seen', True)]",
        "[('db', 1), ('seen', True)]",
        "[('db', 'mine'), ('seen', True)]",
    ]


async def _receive_nothing() -> Message:  # pragma: no cover (endpoints here read no body)
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: Message) -> None:
    return None


async def test_state_goes_into_the_server_state_dict() -> None:
    router = Router(lifespan=recording_lifespan([], "app", {"db": 1}))
    sent, scope, error = await run_lifespan(router)
    assert error is None
    assert types(sent) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert scope["state"] == {"db": 1}


async def test_a_lifespan_yielding_nothing_leaves_the_state_empty() -> None:
    sent, scope, _ = await run_lifespan(Router(lifespan=recording_lifespan([], "app", None)))
    assert types(sent) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert scope["state"] == {}


async def test_lifespan_gets_the_application() -> None:
    seen: list[Any] = []

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        seen.append(app)
        yield

    app = MicroASGI(lifespan=lifespan)
    await run_lifespan(app)
    assert seen == [app]


@pytest.mark.parametrize("value", [["db"], "db", 3])
async def test_a_yielded_non_mapping_is_a_clear_error(value: Any) -> None:
    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        yield value

    sent, _, error = await run_lifespan(Router(lifespan=lifespan))
    assert types(sent) == ["lifespan.startup.failed"]
    assert isinstance(error, TypeError)
    assert f"The lifespan yielded {value!r}; yield a mapping" in str(error)
    assert "yield a mapping" in sent[0]["message"]


# --- failures ---------------------------------------------------------------------------------


@asynccontextmanager
async def failing_startup(app: Any) -> AsyncIterator[None]:
    if app is None:  # always: the app of a bare Router is None
        raise RuntimeError("database unreachable")
    yield  # pragma: no cover (never reached)


@asynccontextmanager
async def failing_shutdown(app: Any) -> AsyncIterator[None]:
    yield
    raise RuntimeError("flush failed")


async def test_startup_failure_answers_failed_with_the_message() -> None:
    sent, _, error = await run_lifespan(Router(lifespan=failing_startup))
    assert types(sent) == ["lifespan.startup.failed"]
    assert "RuntimeError: database unreachable" in sent[0]["message"]
    assert isinstance(error, RuntimeError)


def test_startup_failure_makes_the_test_client_raise(test_client_factory: ClientFactory) -> None:
    client = test_client_factory(Router(lifespan=failing_startup))
    with pytest.raises(RuntimeError, match="database unreachable"), client:
        pass  # pragma: no cover (startup fails)


async def test_shutdown_failure_answers_failed_with_the_message() -> None:
    sent, _, error = await run_lifespan(Router(lifespan=failing_shutdown))
    assert types(sent) == ["lifespan.startup.complete", "lifespan.shutdown.failed"]
    assert "RuntimeError: flush failed" in sent[1]["message"]
    assert isinstance(error, RuntimeError)


def test_shutdown_failure_makes_the_test_client_raise(test_client_factory: ClientFactory) -> None:
    client = test_client_factory(Router(lifespan=failing_shutdown))
    with pytest.raises(RuntimeError, match="flush failed"), client:
        pass


@pytest.mark.parametrize(
    ("incoming", "sent_types", "message"),
    [
        (("lifespan.shutdown",), [], "first on the lifespan scope"),
        (
            ("lifespan.startup", "lifespan.bogus"),
            ["lifespan.startup.complete", "lifespan.shutdown.failed"],
            "after startup",
        ),
    ],
)
async def test_a_server_breaking_the_protocol_is_an_error(
    incoming: Sequence[str], sent_types: list[str], message: str
) -> None:
    sent, _, error = await run_lifespan(Router(), incoming=incoming)
    assert types(sent) == sent_types
    assert isinstance(error, LifespanError)
    assert message in str(error)


# --- mounted apps -----------------------------------------------------------------------------


async def no_lifespan_raising(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        raise ValueError("lifespan is not supported here")
    await PlainTextResponse("raising")(scope, receive, send)


async def no_lifespan_returning(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await PlainTextResponse("returning")(scope, receive, send)


async def test_nested_and_mounted_lifespans_run_and_share_the_state() -> None:
    log: list[str] = []
    inner = Router(
        [Route("/", show_state)], lifespan=recording_lifespan(log, "inner", {"inner": 1})
    )
    api = MicroASGI(
        routes=[Route("/", show_state)], lifespan=recording_lifespan(log, "api", {"api": 2})
    )
    tenant = Router(lifespan=recording_lifespan(log, "tenant", {"tenant": 3}))
    router = Router(
        [
            Mount("/inner", app=inner),
            Mount("/nested", routes=[Mount("/deeper", app=api)]),
            Mount("/raising", app=no_lifespan_raising),
            Mount("/returning", app=no_lifespan_returning),
            Mount("/again", app=inner),
            Host("tenant.test", app=tenant),
        ],
        lifespan=recording_lifespan(log, "top", {"top": 0}),
    )
    texts: list[str] = []

    async def during(scope: Scope) -> None:
        log.append("serving")
        client = AsyncTestClient(router)
        texts.append((await client.get("/inner/")).text)
        texts.append((await client.get("/raising/x")).text)

    sent, scope, error = await run_lifespan(router, during=during)
    assert error is None
    assert types(sent) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert log == [
        "top startup",
        "inner startup",
        "api startup",
        "tenant startup",
        "serving",
        "tenant shutdown",
        "api shutdown",
        "inner shutdown",
        "top shutdown",
    ]
    assert scope["state"] == {"top": 0, "inner": 1, "api": 2, "tenant": 3}
    assert texts[1] == "raising"


def mounted_app_sending(*replies: str) -> ASGIApp:
    """A mounted app that answers each lifespan message with the next of ``replies``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for reply in replies:
            await receive()
            await send({"type": reply, "message": f"{reply} by the app"})

    return app


@pytest.mark.parametrize(
    ("replies", "sent_types", "message"),
    [
        (
            ("lifespan.startup.failed",),
            ["lifespan.startup.failed"],
            "failed to start:\nlifespan.startup.failed by the app",
        ),
        (
            ("lifespan.startup.complete", "lifespan.shutdown.failed"),
            ["lifespan.startup.complete", "lifespan.shutdown.failed"],
            "failed to shut down:\nlifespan.shutdown.failed by the app",
        ),
        (
            ("lifespan.startup.complete",),
            ["lifespan.startup.complete", "lifespan.shutdown.failed"],
            "ended without answering 'lifespan.shutdown': None",
        ),
        (
            ("lifespan.startup.complete", "http.response.start"),
            ["lifespan.startup.complete", "lifespan.shutdown.failed"],
            "answered 'lifespan.shutdown' with 'http.response.start'",
        ),
    ],
)
async def test_mounted_app_failures_fail_the_router_lifespan(
    replies: tuple[str, ...], sent_types: list[str], message: str
) -> None:
    log: list[str] = []
    router = Router(
        [
            Mount("/ok", app=Router(lifespan=recording_lifespan(log, "sibling"))),
            Mount("/bad", app=mounted_app_sending(*replies)),
        ]
    )
    sent, _, error = await run_lifespan(router)
    assert types(sent) == sent_types
    assert isinstance(error, LifespanError)
    assert message in str(error)
    assert message in sent[-1]["message"]
    # The sibling that started is shut down whatever happened after it.
    assert log == ["sibling startup", "sibling shutdown"]


async def test_apps_answering_lifespan_with_http_messages_are_skipped() -> None:
    # Sloppy apps that ignore the scope type, such as a bare response, do not speak lifespan.
    log: list[str] = []
    router = Router(
        [
            Mount("/bare", app=PlainTextResponse("bare")),
            Mount("/ok", app=Router(lifespan=recording_lifespan(log, "ok"))),
        ]
    )
    sent, _, error = await run_lifespan(router)
    assert error is None
    assert types(sent) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert log == ["ok startup", "ok shutdown"]


async def test_every_mounted_app_is_shut_down_even_when_one_fails() -> None:
    log: list[str] = []
    router = Router(
        [
            Mount("/a", app=Router(lifespan=recording_lifespan(log, "a"))),
            Mount("/b", app=Router(lifespan=failing_shutdown)),
            Mount("/c", app=Router(lifespan=recording_lifespan(log, "c"))),
        ]
    )
    sent, _, error = await run_lifespan(router)
    assert types(sent) == ["lifespan.startup.complete", "lifespan.shutdown.failed"]
    assert isinstance(error, LifespanError)
    assert "flush failed" in str(error)
    assert log == ["a startup", "c startup", "c shutdown", "a shutdown"]


# --- servers that send no lifespan ------------------------------------------------------------


def test_without_lifespan_events_requests_are_served_and_one_warning_logged(
    test_client_factory: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("served")

    app = MicroASGI(
        routes=[Route("/", endpoint), Mount("/plain", routes=[Route("/", endpoint)])],
        lifespan=recording_lifespan(log, "app", {"db": 1}),
    )
    client = test_client_factory(app)  # no "with": like daphne, no lifespan events at all
    with caplog.at_level(logging.WARNING, logger="microasgi"):
        assert client.get("/").text == "served"
        assert client.get("/").text == "served"
        assert client.get("/plain/").text == "served"
    assert log == []
    records = [r for r in caplog.records if r.name == "microasgi"]
    assert len(records) == 1
    message = records[0].getMessage()
    assert "The server sent no lifespan events, so the lifespan" in message
    assert "recording_lifespan.<locals>.lifespan did not run" in message
    assert "uvicorn, hypercorn, granian" in message
    assert "forward lifespan events" in message
    assert records[0].levelno == logging.WARNING


def test_without_lifespan_events_no_warning_for_apps_without_a_lifespan(
    test_client_factory: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = test_client_factory(Router([Route("/", show_state)]))
    with caplog.at_level(logging.DEBUG, logger="microasgi"):
        assert client.get("/").text == "[]"
    assert [r for r in caplog.records if r.name == "microasgi"] == []


def test_mounted_router_inside_a_framework_without_lifespan_warns(
    test_client_factory: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    inner = Router([Route("/", show_state)], lifespan=recording_lifespan([], "inner"))

    async def framework(scope: Scope, receive: Receive, send: Send) -> None:
        # A foreign framework that swallows lifespan and forwards only requests.
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await inner(scope, receive, send)

    with (
        caplog.at_level(logging.WARNING, logger="microasgi"),
        test_client_factory(framework) as client,
    ):
        assert client.get("/").status_code == 200
        assert client.get("/").status_code == 200
    assert len([r for r in caplog.records if r.name == "microasgi"]) == 1


def test_no_warning_once_the_lifespan_ran(
    test_client_factory: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    router = Router([Route("/", show_state)], lifespan=recording_lifespan([], "app"))
    with (
        caplog.at_level(logging.WARNING, logger="microasgi"),
        test_client_factory(router) as client,
    ):
        assert client.get("/").status_code == 200
    assert [r for r in caplog.records if r.name == "microasgi"] == []
