"""The client's protocol checks, end to end: extensions, trailers, and checks that help.

By default the client accepts what real servers accept (and Starlette's client answers what it
answers); ``strict=True`` holds the app to the spec. The tests at the end are ported unchanged,
but for their imports, from Starlette's own tests/test_testclient.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from microasgi.testclient import (
    ASGIProtocolError,
    ASGIProtocolWarning,
    AsyncTestClient,
    TestClient,
)
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

TestClientFactory = Callable[..., TestClient]
START: Message = {"type": "http.response.start", "status": 200, "headers": []}
END: Message = {"type": "http.response.body", "body": b""}


def script(*messages: Message) -> ASGIApp:
    """An app that sends ``messages`` in order, whatever the request."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    return app


class UpperCaseHeaders:
    """A middleware, as many are written, adding a header with a capitalised name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_header(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                headers = list(message.get("headers", []))
                message = {**message, "headers": [*headers, (b"X-Frame-Options", b"DENY")]}
            await send(message)

        await self.app(scope, receive, send_with_header)


# --- extensions ---------------------------------------------------------------------------------


async def test_trailers_and_debug_are_advertised_by_default() -> None:
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["extensions"])
        await script(START, END)(scope, receive, send)

    await AsyncTestClient(app).get("/")
    assert seen == [{"http.response.debug": {}, "http.response.trailers": {}}]


async def test_given_extensions_replace_the_defaults() -> None:
    app = script({**START, "trailers": True}, END)
    with pytest.raises(ASGIProtocolError, match=r"http\.response\.trailers") as caught:
        await AsyncTestClient(app, extensions={"http.response.push": {}}).get("/")
    assert caught.value.rule == "extension.not_advertised"


async def test_trailers_are_recorded_as_starlette_records_them() -> None:
    app = script(
        {**START, "trailers": True},
        {"type": "http.response.body", "body": b"data"},
        {"type": "http.response.trailers", "headers": [(b"x-sum", b"1")], "more_trailers": True},
        {"type": "http.response.trailers", "headers": [(b"X-Sum", b"2")]},
    )
    response = await AsyncTestClient(app).get("/")
    assert response.content == b"data"
    assert response.extensions["http.response.trailers"] == [(b"x-sum", b"1"), (b"x-sum", b"2")]
    assert response.trailers is not None
    assert response.trailers.getlist("x-sum") == ["1", "2"]
    assert "x-sum" not in response.headers


async def test_no_trailers_key_without_trailers_announced() -> None:
    response = await AsyncTestClient(script(START, END)).get("/")
    assert "http.response.trailers" not in response.extensions
    assert response.trailers is None


async def test_streamed_trailers_are_recorded_once_the_body_is_read() -> None:
    app = script(
        {**START, "trailers": True},
        {"type": "http.response.body", "body": b"a", "more_body": True},
        {"type": "http.response.body", "body": b"b"},
        {"type": "http.response.trailers", "headers": [(b"x-sum", b"ab")]},
    )
    async with AsyncTestClient(app).stream("GET", "/") as response:
        assert [chunk async for chunk in response.aiter_bytes()] == [b"a", b"b"]
    assert response.extensions["http.response.trailers"] == [(b"x-sum", b"ab")]


@pytest.mark.parametrize(
    ("messages", "rule"),
    [
        ([{"type": "http.response.trailers", "headers": []}], "http.trailers.undeclared"),
        (
            [START, END, {"type": "http.response.trailers", "headers": []}],
            "http.trailers.undeclared",
        ),
        (
            [{**START, "trailers": True}, {"type": "http.response.trailers", "headers": []}],
            "http.trailers.early",
        ),
        ([{**START, "trailers": True}, END, END], "http.trailers.body"),
        (
            [
                {**START, "trailers": True},
                END,
                {"type": "http.response.trailers", "headers": []},
                {"type": "http.response.trailers", "headers": []},
            ],
            "http.trailers.after_end",
        ),
    ],
)
async def test_a_bad_trailer_sequence_names_the_rule(messages: list[Message], rule: str) -> None:
    for raise_server_exceptions in (True, False):
        client = AsyncTestClient(script(*messages), raise_server_exceptions=raise_server_exceptions)
        with pytest.raises(ASGIProtocolError) as caught:
            await client.get("/")
        assert caught.value.rule == rule


async def test_unfinished_trailers_pass_by_default_and_not_in_strict_mode() -> None:
    app = script({**START, "trailers": True}, {"type": "http.response.body", "body": b"x"})
    response = await AsyncTestClient(app).get("/")
    assert (response.content, response.extensions["http.response.trailers"]) == (b"x", [])
    with pytest.raises(ASGIProtocolError, match="more_trailers False") as caught:
        await AsyncTestClient(app, strict=True).get("/")
    assert caught.value.rule == "http.incomplete"


async def test_debug_info_after_start_the_last_one_winning() -> None:
    app = script(
        {"type": "http.response.debug", "info": {"template": "a.html", "context": {}}},
        START,
        {"type": "http.response.debug", "info": {"template": "b.html", "context": {"n": 1}}},
        END,
    )
    response = await AsyncTestClient(app).get("/")
    assert response.extensions["http.response.debug"] == {"template": "b.html", "context": {"n": 1}}
    assert (response.template, response.context) == ("b.html", {"n": 1})
    with pytest.raises(ASGIProtocolError) as caught:
        await AsyncTestClient(app, strict=True).get("/")
    assert caught.value.rule == "http.order"


async def test_debug_info_needs_the_extension() -> None:
    app = script(START, {"type": "http.response.debug", "info": {}}, END)
    with pytest.raises(ASGIProtocolError) as caught:
        await AsyncTestClient(app, extensions={}).get("/")
    assert caught.value.rule == "extension.not_advertised"


async def test_early_hints_before_start_are_interim_answers() -> None:
    app = script(
        {"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload"]},
        START,
        END,
    )
    client = AsyncTestClient(app, extensions={"http.response.early_hint": {}}, strict=True)
    response = await client.get("/")
    assert (response.status_code, response.early_hints) == (200, [["</a.css>; rel=preload"]])


# --- statuses -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [100, 103, 199, 200, 299, 418, 599])
async def test_any_status_from_100_to_599_passes(status: int) -> None:
    app = script({**START, "status": status}, {"type": "http.response.body", "body": b"x"})
    response = await AsyncTestClient(app).get("/")
    assert (response.status_code, response.content) == (status, b"x")
    assert response.is_informational is (status < 200)


@pytest.mark.parametrize("status", [99, 600, 1000])
async def test_a_status_outside_100_599_is_refused(status: int) -> None:
    with pytest.raises(ASGIProtocolError, match="from 100 to 599") as caught:
        await AsyncTestClient(script({**START, "status": status}, END)).get("/")
    assert caught.value.rule == "http.response.start.status"


async def test_strict_mode_refuses_an_interim_status_as_the_answer() -> None:
    app = script({**START, "status": 103}, END)
    with pytest.raises(ASGIProtocolError, match="early_hint") as caught:
        await AsyncTestClient(app, strict=True).get("/")
    assert caught.value.rule == "http.response.start.status"


# --- checks that help ---------------------------------------------------------------------------


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept", "headers": [(b"x-a", b"1")]})
        await send({"type": "websocket.close", "code": 1000})
        return
    await send({**START, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


async def test_upper_case_header_names_are_accepted_and_lowercased() -> None:
    client = AsyncTestClient(UpperCaseHeaders(hello))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a warning by default
        response = await client.get("/")
    assert response.text == "hello"
    assert response.headers.raw == [(b"content-type", b"text/plain"), (b"x-frame-options", b"DENY")]
    assert response.headers["x-frame-options"] == "DENY"


async def test_strict_mode_warns_of_upper_case_header_names() -> None:
    client = AsyncTestClient(UpperCaseHeaders(hello), strict=True)
    with pytest.warns(ASGIProtocolWarning, match=r"X-Frame-Options.*lower-cased") as caught:
        response = await client.get("/")
    assert len(caught) == 1
    assert response.headers.raw[-1] == (b"x-frame-options", b"DENY")


def test_strict_mode_of_the_sync_client(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(UpperCaseHeaders(hello), strict=True)
    assert client.strict
    with pytest.warns(ASGIProtocolWarning, match="X-Frame-Options"):
        assert client.get("/").headers["x-frame-options"] == "DENY"
    assert not test_client_factory(hello).strict


async def test_websocket_accept_headers_keep_their_case() -> None:
    # As in Starlette's client: extra_headers are the pairs the app sent, names as written.
    async with AsyncTestClient(UpperCaseHeaders(hello)).websocket_connect("/") as ws:
        assert ws.extra_headers == [(b"x-a", b"1"), (b"X-Frame-Options", b"DENY")]
    # The checks still see them lower-cased: strict mode names the upper-case one.
    client = AsyncTestClient(UpperCaseHeaders(hello), strict=True)
    with pytest.warns(ASGIProtocolWarning, match="X-Frame-Options"):
        async with client.websocket_connect("/") as ws:
            assert ws.extra_headers[-1] == (b"X-Frame-Options", b"DENY")


def test_websocket_accept_headers_keep_their_case_sync(
    test_client_factory: TestClientFactory,
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept", "headers": [[b"X-Test", b"Set by middleware"]]})
        await send({"type": "websocket.close", "code": 1000})

    with test_client_factory(app).websocket_connect("/") as ws:
        assert ws.extra_headers == [(b"X-Test", b"Set by middleware")]
    with test_client_factory(hello).websocket_connect("/") as ws:
        assert ws.extra_headers == [(b"x-a", b"1")]


async def test_the_checks_servers_share_still_fail() -> None:
    # A str body: uvicorn, hypercorn and daphne fail on it (granian sends nothing).
    with pytest.raises(ASGIProtocolError) as caught:
        await AsyncTestClient(script(START, {"type": "http.response.body", "body": "x"})).get("/")
    assert caught.value.rule == "http.response.body.body"


async def test_more_body_none_reads_as_false_except_in_strict_mode() -> None:
    app = script(START, {"type": "http.response.body", "body": b"x", "more_body": None})
    assert (await AsyncTestClient(app).get("/")).content == b"x"
    with pytest.raises(ASGIProtocolError) as caught:
        await AsyncTestClient(app, strict=True).get("/")
    assert caught.value.rule == "http.response.body.more_body"


async def test_no_response_is_a_500_without_raise_server_exceptions() -> None:
    client = AsyncTestClient(script(), raise_server_exceptions=False)
    response = await client.get("/")
    assert (response.status_code, response.content) == (500, b"")
    with pytest.raises(ASGIProtocolError, match="did not receive any response") as caught:
        await AsyncTestClient(script()).get("/")
    assert caught.value.rule == "http.incomplete"


async def test_strict_lifespan_wants_a_str_failure_message() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": 3})

    with pytest.raises(RuntimeError, match="startup failed: 3"):
        async with AsyncTestClient(app):
            pass  # pragma: no cover
    with pytest.raises(ASGIProtocolError, match="must be str"):
        async with AsyncTestClient(app, strict=True):
            pass  # pragma: no cover


# --- ported from Starlette's tests/test_testclient.py (imports changed only) ---------------------
# Starlette's tests import TestClientFactory from tests.types: here it is the alias above.


def test_debug_info_in_response_extensions(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [[b"content-type", b"text/plain"]],
            }
        )
        await send(
            {
                "type": "http.response.debug",
                "info": {"fragment": "header", "blocks": ["nav", "title"]},
            }
        )
        await send({"type": "http.response.body", "body": b"Hello, world!"})

    client = test_client_factory(app)
    response = client.get("/")
    assert response.extensions["http.response.debug"] == {
        "fragment": "header",
        "blocks": ["nav", "title"],
    }
    assert not hasattr(response, "template")


def test_debug_info_in_response_extensions_with_template(
    test_client_factory: TestClientFactory,
) -> None:
    info = {"template": "index.html", "context": {"name": "world"}, "blocks": ["nav"]}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [[b"content-type", b"text/plain"]],
            }
        )
        await send({"type": "http.response.debug", "info": info})
        await send({"type": "http.response.body", "body": b"Hello, world!"})

    client = test_client_factory(app)
    response = client.get("/")
    assert response.extensions["http.response.debug"] == info
    assert response.template == "index.html"
    assert response.context == {"name": "world"}


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([], "TestClient did not receive any response"),
        ([{"type": "http.response.trailers"}], "without declaring trailers"),
        (
            [
                {"type": "http.response.start", "status": 200, "trailers": True},
                {"type": "http.response.trailers"},
            ],
            "before body completed",
        ),
        (
            [
                {"type": "http.response.start", "status": 200, "trailers": True},
                {"type": "http.response.body"},
                {"type": "http.response.body"},
            ],
            "after body completed",
        ),
        (
            [
                {"type": "http.response.start", "status": 200, "trailers": True},
                {"type": "http.response.body"},
                {"type": "http.response.trailers"},
                {"type": "http.response.trailers"},
            ],
            "after response completed",
        ),
    ],
)
def test_invalid_trailer_sequence(
    test_client_factory: TestClientFactory, messages: list[Message], error: str
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    with pytest.raises(AssertionError, match=error):
        test_client_factory(app).get("/")


@pytest.mark.parametrize("empty", [True, False])
def test_capture_trailers(test_client_factory: TestClientFactory, empty: bool) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert "http.response.trailers" in scope["extensions"]
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": b"hello"})
        await anyio.lowlevel.checkpoint()
        headers = [] if empty else [(b"x-item", b"one")]
        await send({"type": "http.response.trailers", "headers": headers, "more_trailers": True})
        headers = [] if empty else [(b"x-item", b"two")]
        await send({"type": "http.response.trailers", "headers": headers})

    response = test_client_factory(app).get("/", headers={"te": "trailers"})
    assert response.content == b"hello"
    assert response.extensions["http.response.trailers"] == (
        [] if empty else [(b"x-item", b"one"), (b"x-item", b"two")]
    )
    assert "x-item" not in response.headers


@pytest.mark.parametrize("partial", [True, False])
@pytest.mark.parametrize("raises", [True, False])
@pytest.mark.parametrize("raise_server_exceptions", [True, False])
def test_incomplete_trailers(
    test_client_factory: TestClientFactory,
    partial: bool,
    raises: bool,
    raise_server_exceptions: bool,
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": b"hello"})
        if partial:
            await send(
                {
                    "type": "http.response.trailers",
                    "headers": [(b"x-item", b"partial")],
                    "more_trailers": True,
                }
            )
        if raises:
            raise ValueError("trailer production failed")

    client = test_client_factory(app, raise_server_exceptions=raise_server_exceptions)
    if raises and raise_server_exceptions:
        with pytest.raises(ValueError, match="trailer production failed"):
            client.get("/")
        return
    response = client.get("/")
    assert response.content == b"hello"
    assert response.extensions["http.response.trailers"] == (
        [(b"x-item", b"partial")] if partial else []
    )
