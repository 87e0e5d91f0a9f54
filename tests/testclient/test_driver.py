"""The ASGI protocol checker: every rule of every state table, without an event loop."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from microasgi.testclient._driver import (
    HTTP_TRANSITIONS,
    HTTPResponseChecker,
    HTTPState,
    LifespanChecker,
    LifespanState,
    WebSocketChecker,
)
from microasgi.testclient._messages import ASGIProtocolError, parse_spec_version
from microasgi.websockets import WebSocketDisconnect, WebSocketState

ALL_HTTP_EXTENSIONS: dict[str, dict[str, Any]] = {
    name: {}
    for name in (
        "http.response.debug",
        "http.response.early_hint",
        "http.response.pathsend",
        "http.response.push",
        "http.response.trailers",
        "http.response.zerocopysend",
    )
}
START = {"type": "http.response.start", "status": 200, "headers": []}
END = {"type": "http.response.body", "body": b""}


def http_checker(
    method: str = "GET", extensions: dict[str, Any] | None = None
) -> HTTPResponseChecker:
    return HTTPResponseChecker(ALL_HTTP_EXTENSIONS if extensions is None else extensions, method)


def run(checker: Any, *messages: Any) -> None:
    for message in messages:
        checker.check(message)


# --- HTTP: the happy paths ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "messages",
    [
        pytest.param([START, END], id="start-body"),
        pytest.param([START, {**END, "more_body": True}, END], id="streamed-body"),
        pytest.param([START, {"type": "http.response.body"}], id="body-key-optional"),
        pytest.param(
            [{"type": "http.response.debug", "info": {}}, START, END], id="debug-before-start"
        ),
        pytest.param(
            [{"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload"]}, START, END],
            id="early-hint-before-start",
        ),
        pytest.param(
            [{"type": "http.response.push", "path": "/a.css", "headers": []}, START, END],
            id="push-before-start",
        ),
        pytest.param(
            [{**START, "trailers": True}, END, {"type": "http.response.trailers", "headers": []}],
            id="trailers",
        ),
        pytest.param(
            [
                {**START, "trailers": True},
                END,
                {"type": "http.response.trailers", "headers": [], "more_trailers": True},
                {"type": "http.response.trailers", "headers": [(b"x", b"1")]},
            ],
            id="trailers-in-parts",
        ),
        pytest.param(
            [START, {"type": "http.response.pathsend", "path": "/etc/hostname"}], id="pathsend"
        ),
        pytest.param(
            [
                {**START, "trailers": True},
                {"type": "http.response.pathsend", "path": "/x"},
                {"type": "http.response.trailers", "headers": []},
            ],
            id="pathsend-trailers",
        ),
        pytest.param(
            [
                START,
                {"type": "http.response.zerocopysend", "file": io.BytesIO(), "more_body": True},
                {"type": "http.response.body", "body": b"x", "more_body": True},
                {
                    "type": "http.response.zerocopysend",
                    "file": io.BytesIO(),
                    "offset": 0,
                    "count": 1,
                },
            ],
            id="zerocopysend-mixed-with-body",
        ),
        pytest.param(
            [
                START,
                {"type": "http.response.push", "path": "/a.css", "headers": []},
                {**END, "more_body": True},
                {"type": "http.response.push", "path": "/b.css", "headers": []},
                END,
            ],
            id="push",
        ),
    ],
)
def test_http_valid_sequences_end_done(messages: list[Any]) -> None:
    checker = http_checker()
    run(checker, *messages)
    assert checker.state is HTTPState.DONE
    checker.check_complete()


# --- HTTP: every rule ---------------------------------------------------------------------------

BAD_HTTP: list[Any] = [
    # (messages sent before the bad one, the bad message, rule)
    ([], "not a dict", "message.mapping"),
    ([], {"status": 200}, "message.type"),
    ([], {"type": "http.response.begin"}, "http.type"),
    ([], END, "http.order"),
    ([START, END], END, "http.order"),
    ([START], START, "http.order"),
    (
        [START, {**END, "more_body": True}],
        {"type": "http.response.pathsend", "path": "/x"},
        "http.order",
    ),
    ([START], {"type": "http.response.debug", "info": {}}, "http.order"),
    ([START], {"type": "http.response.early_hint", "links": []}, "http.order"),
    (
        [{"type": "http.response.debug", "info": {}}],
        {"type": "http.response.debug", "info": {}},
        "http.order",
    ),
    ([START, END], {"type": "http.response.trailers", "headers": []}, "http.order"),
    ([{**START, "trailers": True}, END], END, "http.order"),
    ([], {**START, "status": "200"}, "http.response.start.status"),
    ([], {**START, "status": True}, "http.response.start.status"),
    ([], {**START, "status": 103}, "http.response.start.status"),
    ([], {**START, "status": 600}, "http.response.start.status"),
    ([], {"type": "http.response.start"}, "http.response.start.status"),
    ([], {**START, "trailers": "yes"}, "http.response.start.trailers"),
    ([], {**START, "headers": {b"a": b"b"}}, "headers.type"),
    ([], {**START, "headers": b"a: b"}, "headers.type"),
    ([], {**START, "headers": 3}, "headers.type"),
    ([], {**START, "headers": [(b"a", b"b", b"c")]}, "headers.pair"),
    ([], {**START, "headers": [b"ab"]}, "headers.pair"),
    ([], {**START, "headers": [("a", "b")]}, "headers.bytes"),
    ([], {**START, "headers": [(b"a", "b")]}, "headers.bytes"),
    ([], {**START, "headers": [(b"Content-Type", b"text/plain")]}, "headers.lowercase"),
    ([], {**START, "headers": [(b":status", b"200")]}, "headers.pseudo"),
    ([], {**START, "headers": [(b"a b", b"c")]}, "headers.value"),
    ([], {**START, "headers": [(b"x", b"a\r\nb")]}, "headers.value"),
    ([], {**START, "headers": [(b"content-length", b"abc")]}, "http.content_length"),
    (
        [],
        {**START, "headers": [(b"content-length", b"1"), (b"content-length", b"2")]},
        "http.content_length",
    ),
    ([START], {"type": "http.response.body", "body": "text"}, "http.response.body.body"),
    ([START], {"type": "http.response.body", "body": bytearray(b"x")}, "http.response.body.body"),
    ([START], {**END, "more_body": 1}, "http.response.body.more_body"),
    (
        [START],
        {"type": "http.response.zerocopysend", "file": "/path"},
        "http.response.zerocopysend.file",
    ),
    (
        [START],
        {"type": "http.response.zerocopysend", "file": io.BytesIO(), "offset": -1},
        "http.response.zerocopysend.offset",
    ),
    (
        [START],
        {"type": "http.response.zerocopysend", "file": io.BytesIO(), "count": "1"},
        "http.response.zerocopysend.count",
    ),
    (
        [START],
        {"type": "http.response.pathsend", "path": "relative.txt"},
        "http.response.pathsend.path",
    ),
    ([START], {"type": "http.response.pathsend", "path": b"/x"}, "http.response.pathsend.path"),
    (
        [START],
        {"type": "http.response.push", "path": "a.css", "headers": []},
        "http.response.push.path",
    ),
    (
        [START],
        {"type": "http.response.push", "path": "/a", "headers": [(b"A", b"b")]},
        "headers.lowercase",
    ),
    ([], {"type": "http.response.early_hint", "links": b"</a>"}, "http.response.early_hint.links"),
    ([], {"type": "http.response.early_hint", "links": ["</a>"]}, "http.response.early_hint.links"),
    ([], {"type": "http.response.debug", "info": []}, "http.response.debug.info"),
    (
        [{**START, "trailers": True}, END],
        {"type": "http.response.trailers", "headers": [(b"X", b"1")]},
        "headers.lowercase",
    ),
    (
        [{**START, "trailers": True}, END],
        {"type": "http.response.trailers", "headers": [], "more_trailers": None},
        "http.response.trailers.more_trailers",
    ),
]


@pytest.mark.parametrize(("before", "message", "rule"), BAD_HTTP)
def test_http_rule_violations_raise_naming_the_rule(
    before: list[Any], message: Any, rule: str
) -> None:
    checker = http_checker()
    run(checker, *before)
    with pytest.raises(ASGIProtocolError) as caught:
        checker.check(message)
    assert caught.value.rule == rule
    assert str(caught.value).startswith(f"[{rule}] ")
    assert isinstance(caught.value, AssertionError)


@pytest.mark.parametrize(
    ("message", "extension"),
    [
        ({"type": "http.response.debug", "info": {}}, "http.response.debug"),
        ({"type": "http.response.early_hint", "links": []}, "http.response.early_hint"),
        ({**START, "trailers": True}, "http.response.trailers"),
    ],
)
def test_http_extension_messages_need_the_extension(message: Any, extension: str) -> None:
    checker = http_checker(extensions={"http.response.push": {}})
    with pytest.raises(ASGIProtocolError, match=re.escape(extension)) as caught:
        checker.check(message)
    assert caught.value.rule == "extension.not_advertised"


@pytest.mark.parametrize(
    "message",
    [
        {"type": "http.response.pathsend", "path": "/x"},
        {"type": "http.response.zerocopysend", "file": io.BytesIO()},
        {"type": "http.response.push", "path": "/x", "headers": []},
    ],
)
def test_http_body_extensions_need_the_extension(message: Any) -> None:
    checker = http_checker(extensions={"http.response.debug": {}})
    checker.check(START)
    with pytest.raises(ASGIProtocolError) as caught:
        checker.check(message)
    assert caught.value.rule == "extension.not_advertised"


def test_the_order_error_names_the_state_and_the_expected_messages() -> None:
    checker = http_checker()
    run(checker, START, END)
    with pytest.raises(ASGIProtocolError, match="complete") as caught:
        checker.check(END)
    assert "Nothing more may be sent" in str(caught.value)
    fresh = http_checker()
    with pytest.raises(ASGIProtocolError, match=r"'http\.response\.start'"):
        fresh.check(END)


def test_every_http_state_has_a_row() -> None:
    assert set(HTTP_TRANSITIONS) == set(HTTPState)


# --- HTTP: body size bookkeeping ----------------------------------------------------------------


def test_body_longer_than_content_length_raises() -> None:
    checker = http_checker()
    checker.check({**START, "headers": [(b"content-length", b"3")]})
    checker.count_body(3)
    with pytest.raises(ASGIProtocolError, match="declared content-length: 3") as caught:
        checker.count_body(1)
    assert caught.value.rule == "http.content_length"


def test_body_shorter_than_content_length_raises_at_the_end() -> None:
    checker = http_checker()
    run(checker, {**START, "headers": [(b"content-length", b"3")]}, END)
    checker.count_body(2)
    with pytest.raises(ASGIProtocolError) as caught:
        checker.check_complete()
    assert caught.value.rule == "http.content_length"


@pytest.mark.parametrize(("method", "status"), [("HEAD", 200), ("GET", 304)])
def test_head_and_304_may_declare_a_length_they_do_not_send(method: str, status: int) -> None:
    checker = http_checker(method)
    run(checker, {**START, "status": status, "headers": [(b"content-length", b"10")]}, END)
    checker.count_body(0)
    checker.check_complete()


def test_head_body_is_not_counted_against_content_length() -> None:
    checker = http_checker("HEAD")
    checker.check({**START, "headers": [(b"content-length", b"1")]})
    checker.count_body(5)


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_for_204_and_304(status: int) -> None:
    checker = http_checker()
    checker.check({**START, "status": status})
    checker.count_body(0)
    with pytest.raises(ASGIProtocolError) as caught:
        checker.count_body(1)
    assert caught.value.rule == "http.body.forbidden"


def test_incomplete_response_raises() -> None:
    checker = http_checker()
    run(checker, START, {**END, "more_body": True})
    with pytest.raises(ASGIProtocolError, match="more_body is False") as caught:
        checker.check_complete()
    assert caught.value.rule == "http.incomplete"


# --- WebSocket ----------------------------------------------------------------------------------

ACCEPT = {"type": "websocket.accept"}
DENIAL: dict[str, Any] = {"websocket.http.response": {}}


@pytest.mark.parametrize(
    ("messages", "state"),
    [
        ([ACCEPT], WebSocketState.CONNECTED),
        ([{**ACCEPT, "subprotocol": "chat", "headers": [(b"x", b"1")]}], WebSocketState.CONNECTED),
        ([ACCEPT, {"type": "websocket.send", "text": "a"}], WebSocketState.CONNECTED),
        (
            [ACCEPT, {"type": "websocket.send", "bytes": b"a", "text": None}],
            WebSocketState.CONNECTED,
        ),
        (
            [ACCEPT, {"type": "websocket.close", "code": 4000, "reason": "bye"}],
            WebSocketState.DISCONNECTED,
        ),
        ([{"type": "websocket.close"}], WebSocketState.DISCONNECTED),
        (
            [{"type": "websocket.http.response.start", "status": 403, "headers": []}],
            WebSocketState.RESPONSE,
        ),
        (
            [
                {"type": "websocket.http.response.start", "status": 403, "headers": []},
                {"type": "websocket.http.response.body", "body": b"no", "more_body": True},
                {"type": "websocket.http.response.body", "body": b"!"},
            ],
            WebSocketState.DISCONNECTED,
        ),
    ],
)
def test_websocket_valid_sequences(messages: list[Any], state: WebSocketState) -> None:
    checker = WebSocketChecker(DENIAL, ["chat"])
    run(checker, *messages)
    assert checker.state is state


BAD_WEBSOCKET: list[Any] = [
    ([], {"type": "websocket.send", "text": "early"}, "websocket.order"),
    ([ACCEPT], ACCEPT, "websocket.order"),
    (
        [ACCEPT, {"type": "websocket.close"}],
        {"type": "websocket.send", "text": "late"},
        "websocket.order",
    ),
    ([], {"type": "websocket.http.response.body", "body": b""}, "websocket.order"),
    (
        [ACCEPT],
        {"type": "websocket.http.response.start", "status": 403, "headers": []},
        "websocket.order",
    ),
    ([], {"type": "websocket.open"}, "websocket.type"),
    ([ACCEPT], {"type": "websocket.send", "text": "a", "bytes": b"a"}, "websocket.send.payload"),
    ([ACCEPT], {"type": "websocket.send"}, "websocket.send.payload"),
    ([ACCEPT], {"type": "websocket.send", "text": b"a"}, "websocket.send.text"),
    ([ACCEPT], {"type": "websocket.send", "bytes": "a"}, "websocket.send.bytes"),
    ([], {**ACCEPT, "subprotocol": "other"}, "websocket.accept.subprotocol"),
    ([], {**ACCEPT, "headers": [(b"sec-websocket-protocol", b"chat")]}, "websocket.accept.headers"),
    ([], {**ACCEPT, "headers": [(b"X", b"1")]}, "headers.lowercase"),
    ([ACCEPT], {"type": "websocket.close", "code": 1006}, "websocket.close.code"),
    ([ACCEPT], {"type": "websocket.close", "code": 999}, "websocket.close.code"),
    ([ACCEPT], {"type": "websocket.close", "code": "1000"}, "websocket.close.code"),
    ([ACCEPT], {"type": "websocket.close", "reason": 5}, "websocket.close.reason"),
    ([ACCEPT], {"type": "websocket.close", "reason": "x" * 124}, "websocket.close.reason"),
    (
        [],
        {"type": "websocket.http.response.start", "status": "403", "headers": []},
        "websocket.http.response.start.status",
    ),
    (
        [{"type": "websocket.http.response.start", "status": 403, "headers": []}],
        {"type": "websocket.http.response.body", "body": "no"},
        "websocket.http.response.body.body",
    ),
]


@pytest.mark.parametrize(("before", "message", "rule"), BAD_WEBSOCKET)
def test_websocket_rule_violations(before: list[Any], message: Any, rule: str) -> None:
    checker = WebSocketChecker(DENIAL, ["chat"])
    run(checker, *before)
    with pytest.raises(ASGIProtocolError) as caught:
        checker.check(message)
    assert caught.value.rule == rule


def test_websocket_denial_needs_the_extension() -> None:
    checker = WebSocketChecker({}, [])
    with pytest.raises(ASGIProtocolError, match=r"websocket\.http\.response") as caught:
        checker.check({"type": "websocket.http.response.start", "status": 403, "headers": []})
    assert caught.value.rule == "extension.not_advertised"


# --- lifespan -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "state"),
    [
        (["<lifespan.startup", "lifespan.startup.complete"], LifespanState.STARTED),
        (["<lifespan.startup", "lifespan.startup.failed"], LifespanState.STARTUP_FAILED),
        (
            [
                "<lifespan.startup",
                "lifespan.startup.complete",
                "<lifespan.shutdown",
                "lifespan.shutdown.complete",
            ],
            LifespanState.STOPPED,
        ),
        (
            [
                "<lifespan.startup",
                "lifespan.startup.complete",
                "<lifespan.shutdown",
                "lifespan.shutdown.failed",
            ],
            LifespanState.SHUTDOWN_FAILED,
        ),
    ],
)
def test_lifespan_valid_sequences(steps: list[str], state: LifespanState) -> None:
    checker = LifespanChecker()
    for step in steps:
        if step.startswith("<"):
            checker.delivered(step[1:])
        else:
            assert checker.check({"type": step, "message": "m"}) == step
    assert checker.state is state


@pytest.mark.parametrize(
    ("delivered", "message", "rule", "hint"),
    [
        ([], {"type": "lifespan.startup.complete"}, "lifespan.order", "Wait until receive()"),
        (
            ["lifespan.startup"],
            {"type": "lifespan.shutdown.complete"},
            "lifespan.order",
            "Expected one of",
        ),
        (
            ["lifespan.startup"],
            {"type": "lifespan.startup.failed", "message": 1},
            "lifespan.startup.failed.message",
            "str",
        ),
        (["lifespan.startup"], {"type": "lifespan.ready"}, "lifespan.type", "not an ASGI lifespan"),
        (
            ["lifespan.startup"],
            {"type": "http.response.start"},
            "lifespan.foreign",
            "Raise on scope types",
        ),
    ],
)
def test_lifespan_rule_violations(delivered: list[str], message: Any, rule: str, hint: str) -> None:
    checker = LifespanChecker()
    for kind in delivered:
        checker.delivered(kind)
    with pytest.raises(ASGIProtocolError, match=hint) as caught:
        checker.check(message)
    assert caught.value.rule == rule


def test_nothing_follows_a_failed_startup() -> None:
    checker = LifespanChecker()
    checker.delivered("lifespan.startup")
    checker.check({"type": "lifespan.startup.failed"})
    with pytest.raises(ASGIProtocolError, match="Nothing more may be sent"):
        checker.check({"type": "lifespan.startup.complete"})


# --- helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "parsed"), [("2.4", (2, 4)), ("2.10", (2, 10)), ("3.0", (3, 0))])
def test_parse_spec_version(text: str, parsed: tuple[int, int]) -> None:
    assert parse_spec_version(text) == parsed


@pytest.mark.parametrize("text", ["2", "2.x", "", "v2.4", 2.4])
def test_parse_spec_version_refuses_garbage(text: Any) -> None:
    with pytest.raises(ValueError, match="spec_version"):
        parse_spec_version(text)


@pytest.mark.parametrize(
    ("exc", "text", "text_repr"),
    [
        (WebSocketDisconnect(), "1000", "WebSocketDisconnect(code=1000, reason='')"),
        (
            WebSocketDisconnect(4001, "bye"),
            "4001: bye",
            "WebSocketDisconnect(code=4001, reason='bye')",
        ),
    ],
)
def test_websocket_disconnect(exc: WebSocketDisconnect, text: str, text_repr: str) -> None:
    assert str(exc) == text
    assert repr(exc) == text_repr
