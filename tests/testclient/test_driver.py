"""The ASGI protocol checker: every rule of every state table, without an event loop.

Each rule is checked in both modes: by default (what real servers accept) and with ``strict=True``
(the spec's letter), which refuses everything the default refuses and a few things more.
"""

from __future__ import annotations

import io
import re
import warnings
from typing import Any

import pytest

from microasgi.testclient._driver import (
    HTTP_TRANSITIONS,
    STRICT_HTTP_TRANSITIONS,
    HTTPResponseChecker,
    HTTPState,
    LifespanChecker,
    LifespanState,
    WebSocketChecker,
)
from microasgi.testclient._messages import (
    ASGIProtocolError,
    ASGIProtocolWarning,
    check_headers,
    parse_spec_version,
)
from microasgi.types import Message
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
    method: str = "GET", extensions: dict[str, Any] | None = None, *, strict: bool = False
) -> HTTPResponseChecker:
    return HTTPResponseChecker(
        ALL_HTTP_EXTENSIONS if extensions is None else extensions, method, strict=strict
    )


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
@pytest.mark.parametrize("strict", [False, True])
def test_http_valid_sequences_end_done(messages: list[Any], strict: bool) -> None:
    checker = http_checker(strict=strict)
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
    ([START], {"type": "http.response.early_hint", "links": []}, "http.order"),
    ([START, END], {"type": "http.response.debug", "info": {}}, "http.order"),
    ([START, END], {"type": "http.response.trailers", "headers": []}, "http.trailers.undeclared"),
    ([{**START, "trailers": True}, END], END, "http.trailers.body"),
    ([], {**START, "status": "200"}, "http.response.start.status"),
    ([], {**START, "status": True}, "http.response.start.status"),
    ([], {**START, "status": 99}, "http.response.start.status"),
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
    ([START], {**END, "more_body": "no"}, "http.response.body.more_body"),
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
    ([START], {"type": "http.response.pathsend", "path": b"/x"}, "http.response.pathsend.path"),
    (
        [START],
        {"type": "http.response.push", "path": "a.css", "headers": []},
        "http.response.push.path",
    ),
    (
        [START],
        {"type": "http.response.push", "path": "/a", "headers": [(b"a", "b")]},
        "headers.bytes",
    ),
    ([], {"type": "http.response.early_hint", "links": b"</a>"}, "http.response.early_hint.links"),
    ([], {"type": "http.response.early_hint", "links": ["</a>"]}, "http.response.early_hint.links"),
    ([], {"type": "http.response.debug", "info": []}, "http.response.debug.info"),
    (
        [{**START, "trailers": True}, END],
        {"type": "http.response.trailers", "headers": [(b":x", b"1")]},
        "headers.pseudo",
    ),
    (
        [{**START, "trailers": True}, END],
        {"type": "http.response.trailers", "headers": [], "more_trailers": 0},
        "http.response.trailers.more_trailers",
    ),
]


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize(("before", "message", "rule"), BAD_HTTP)
def test_http_rule_violations_raise_naming_the_rule(
    before: list[Any], message: Any, rule: str, strict: bool
) -> None:
    checker = http_checker(strict=strict)
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
    assert set(STRICT_HTTP_TRANSITIONS) == set(HTTPState)


def test_the_default_table_is_the_strict_one_plus_debug_info() -> None:
    for state, row in STRICT_HTTP_TRANSITIONS.items():
        extra = set(HTTP_TRANSITIONS[state]) - set(row)
        assert extra <= {"http.response.debug"}
        assert all(HTTP_TRANSITIONS[state][event] is row[event] for event in row)


def test_order_hints_do_not_suggest_debug_info() -> None:
    checker = http_checker()
    run(checker, START)
    with pytest.raises(ASGIProtocolError, match="Expected one of") as caught:
        checker.check(START)
    assert "http.response.debug" not in str(caught.value)


# --- HTTP: what only strict mode refuses --------------------------------------------------------

DEBUG = {"type": "http.response.debug", "info": {"n": 1}}
STRICT_ONLY_HTTP: list[Any] = [
    # (messages sent before, the message every server copes with but the spec forbids, rule)
    ([START], DEBUG, "http.order"),
    ([START, {**END, "more_body": True}], DEBUG, "http.order"),
    ([DEBUG], DEBUG, "http.order"),
    ([], {**START, "status": 103}, "http.response.start.status"),
    ([], {**START, "status": 100}, "http.response.start.status"),
    ([], {**START, "status": 199}, "http.response.start.status"),
    (
        [START],
        {"type": "http.response.pathsend", "path": "relative.txt"},
        "http.response.pathsend.path",
    ),
    ([START], {**END, "more_body": None}, "http.response.body.more_body"),
    ([], {**START, "trailers": None}, "http.response.start.trailers"),
    (
        [{**START, "trailers": True}, END],
        {"type": "http.response.trailers", "headers": [], "more_trailers": None},
        "http.response.trailers.more_trailers",
    ),
]


@pytest.mark.parametrize(("before", "message", "rule"), STRICT_ONLY_HTTP)
def test_only_strict_mode_refuses_what_servers_accept(
    before: list[Any], message: Any, rule: str
) -> None:
    run(http_checker(), *before, message)
    checker = http_checker(strict=True)
    run(checker, *before)
    with pytest.raises(ASGIProtocolError) as caught:
        checker.check(message)
    assert caught.value.rule == rule


@pytest.mark.parametrize("status", [100, 103, 199, 200, 404, 599])
def test_any_status_from_100_to_599_is_the_response_status(status: int) -> None:
    checker = http_checker()
    run(checker, {**START, "status": status}, END)
    assert checker.status == status
    checker.check_complete()


def test_strict_status_error_points_at_early_hints() -> None:
    with pytest.raises(ASGIProtocolError, match=r"from 200 to 599.*early_hint"):
        http_checker(strict=True).check({**START, "status": 103})


def test_debug_info_anywhere_before_the_end_and_the_last_one_wins() -> None:
    checker = http_checker()
    run(
        checker,
        {"type": "http.response.debug", "info": {"n": 0}},
        {"type": "http.response.debug", "info": {"n": 1}},
        {**START, "trailers": True},
        {"type": "http.response.debug", "info": {"n": 2}},
        {**END, "more_body": True},
        {"type": "http.response.debug", "info": {"n": 3}},
        END,
        {"type": "http.response.debug", "info": {"n": 4}},
        {"type": "http.response.trailers", "headers": []},
    )
    assert checker.debug_info == {"n": 4}
    assert checker.state is HTTPState.DONE


def test_none_reads_as_false_by_default() -> None:
    checker = http_checker()
    run(checker, {**START, "trailers": None}, {**END, "more_body": None})
    assert checker.state is HTTPState.DONE
    assert not checker.trailers_declared


def test_a_second_start_leaves_the_first_one_standing() -> None:
    checker = http_checker()
    checker.check({**START, "status": 201, "headers": [(b"a", b"1")]})
    with pytest.raises(ASGIProtocolError):
        checker.check({**START, "status": 500, "headers": [(b"b", b"2")], "trailers": True})
    assert (checker.status, checker.headers, checker.trailers_declared) == (
        201,
        [(b"a", b"1")],
        False,
    )


# --- HTTP: trailers -----------------------------------------------------------------------------

TRAILERS_START = {**START, "trailers": True}
TRAILER = {"type": "http.response.trailers", "headers": []}
# Each error quotes the words of Starlette's client, so a ported test matching them passes.
BAD_TRAILERS: list[Any] = [
    ([], TRAILER, "http.trailers.undeclared", "without declaring trailers"),
    ([START], TRAILER, "http.trailers.undeclared", "without declaring trailers"),
    ([START, END], TRAILER, "http.trailers.undeclared", "without declaring trailers"),
    ([TRAILERS_START], TRAILER, "http.trailers.early", "before body completed"),
    (
        [TRAILERS_START, {**END, "more_body": True}],
        TRAILER,
        "http.trailers.early",
        "before body completed",
    ),
    ([TRAILERS_START, END], END, "http.trailers.body", "after body completed"),
    (
        [TRAILERS_START, END, {**TRAILER, "more_trailers": True}],
        {"type": "http.response.zerocopysend", "file": io.BytesIO()},
        "http.trailers.body",
        "after body completed",
    ),
    (
        [TRAILERS_START, END, TRAILER],
        TRAILER,
        "http.trailers.after_end",
        "after response completed",
    ),
    ([TRAILERS_START, END, TRAILER], END, "http.order", "Nothing more may be sent"),
]


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize(("before", "message", "rule", "words"), BAD_TRAILERS)
def test_bad_trailer_sequences_name_the_rule(
    before: list[Any], message: Any, rule: str, words: str, strict: bool
) -> None:
    checker = http_checker(strict=strict)
    run(checker, *before)
    with pytest.raises(ASGIProtocolError, match=words) as caught:
        checker.check(message)
    assert caught.value.rule == rule


def test_trailers_are_collected_across_messages() -> None:
    checker = http_checker()
    run(
        checker,
        TRAILERS_START,
        END,
        {**TRAILER, "headers": [(b"x-item", b"one")], "more_trailers": True},
        {**TRAILER, "headers": [(b"X-Item", b"two")]},
    )
    assert checker.trailers_declared
    assert checker.trailers == [(b"x-item", b"one"), (b"x-item", b"two")]


def test_a_refused_trailer_is_not_recorded() -> None:
    checker = http_checker()
    run(checker, TRAILERS_START, END, {**TRAILER, "headers": [(b"a", b"1")]})
    with pytest.raises(ASGIProtocolError):
        checker.check({**TRAILER, "headers": [(b"b", b"2")]})
    assert checker.trailers == [(b"a", b"1")]


@pytest.mark.parametrize(
    "messages",
    [
        pytest.param([TRAILERS_START, END], id="no-trailers-yet"),
        pytest.param([TRAILERS_START, END, {**TRAILER, "more_trailers": True}], id="partial"),
    ],
)
def test_unfinished_trailers_pass_by_default_not_in_strict_mode(messages: list[Any]) -> None:
    lenient = http_checker()
    run(lenient, *messages)
    lenient.check_complete()
    strict = http_checker(strict=True)
    run(strict, *messages)
    with pytest.raises(ASGIProtocolError, match="more_trailers False") as caught:
        strict.check_complete()
    assert caught.value.rule == "http.incomplete"


@pytest.mark.parametrize("strict", [False, True])
def test_an_unfinished_body_is_incomplete_in_both_modes(strict: bool) -> None:
    checker = http_checker(strict=strict)
    run(checker, TRAILERS_START, {**END, "more_body": True})
    with pytest.raises(ASGIProtocolError) as caught:
        checker.check_complete()
    assert caught.value.rule == "http.incomplete"


@pytest.mark.parametrize("before", [[], [DEBUG]])
def test_no_response_at_all_is_worded_as_starlette_words_it(before: list[Any]) -> None:
    checker = http_checker()
    run(checker, *before)
    with pytest.raises(
        ASGIProtocolError, match="TestClient did not receive any response"
    ) as caught:
        checker.check_complete()
    assert caught.value.rule == "http.incomplete"


# --- header names: lower-cased; a warning in strict mode only ------------------------------------

UPPER_CASE_MESSAGES: list[Any] = [
    ([], {**START, "headers": [(b"X-Frame-Options", b"DENY"), (b"vary", b"a")]}),
    (
        [START],
        {"type": "http.response.push", "path": "/a", "headers": [(b"X-Frame-Options", b"DENY")]},
    ),
    ([TRAILERS_START, END], {**TRAILER, "headers": [(b"X-Frame-Options", b"DENY")]}),
]


@pytest.mark.parametrize(("before", "message"), UPPER_CASE_MESSAGES)
def test_upper_case_header_names_are_accepted_and_lowercased(
    before: list[Any], message: Any
) -> None:
    checker = http_checker()
    run(checker, *before)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checker.check(message)
    assert all(name == name.lower() for name, _ in checker.headers + checker.trailers)


@pytest.mark.parametrize(("before", "message"), UPPER_CASE_MESSAGES)
def test_strict_mode_warns_once_per_message_naming_the_headers(
    before: list[Any], message: Any
) -> None:
    checker = http_checker(strict=True)
    run(checker, *before)
    with pytest.warns(ASGIProtocolWarning, match=r"\[b'X-Frame-Options'\]") as caught:
        checker.check(message)
    assert len(caught) == 1
    assert "[headers.lowercase]" in str(caught[0].message)


def test_check_headers_lowercases_names_and_keeps_values() -> None:
    message = {"type": "http.response.start", "headers": [[b"Content-Type", b"Text/HTML"]]}
    assert check_headers(message) == [(b"content-type", b"Text/HTML")]


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
        ([ACCEPT, {"type": "websocket.close", "code": 1008}], WebSocketState.DISCONNECTED),
        ([ACCEPT, {"type": "websocket.close", "code": 1014}], WebSocketState.DISCONNECTED),
        ([ACCEPT, {"type": "websocket.close", "code": 3000}], WebSocketState.DISCONNECTED),
        ([ACCEPT, {"type": "websocket.close", "code": 4999}], WebSocketState.DISCONNECTED),
        (
            [ACCEPT, {"type": "websocket.close", "code": 1000, "reason": "x" * 123}],
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
@pytest.mark.parametrize("strict", [False, True])
def test_websocket_valid_sequences(
    messages: list[Any], state: WebSocketState, strict: bool
) -> None:
    checker = WebSocketChecker(DENIAL, ["chat"], strict=strict)
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
    ([], {**ACCEPT, "headers": [(b"x", "1")]}, "headers.bytes"),
    ([ACCEPT], {"type": "websocket.close", "code": 1006}, "websocket.close.code"),
    ([ACCEPT], {"type": "websocket.close", "code": 999}, "websocket.close.code"),
    ([ACCEPT], {"type": "websocket.close", "code": 1015}, "websocket.close.code"),
    ([ACCEPT], {"type": "websocket.close", "code": 1016}, "websocket.close.code"),
    ([ACCEPT], {"type": "websocket.close", "code": 2000}, "websocket.close.code"),
    ([ACCEPT], {"type": "websocket.close", "code": 2999}, "websocket.close.code"),
    ([ACCEPT], {"type": "websocket.close", "code": 5000}, "websocket.close.code"),
    ([ACCEPT], {"type": "websocket.close", "code": True}, "websocket.close.code"),
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
    (
        [{"type": "websocket.http.response.start", "status": 403, "headers": []}],
        {"type": "websocket.http.response.body", "body": b"", "more_body": 1},
        "websocket.http.response.body.more_body",
    ),
    (
        [],
        {"type": "websocket.http.response.start", "status": 600, "headers": []},
        "websocket.http.response.start.status",
    ),
]


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize(("before", "message", "rule"), BAD_WEBSOCKET)
def test_websocket_rule_violations(
    before: list[Any], message: Any, rule: str, strict: bool
) -> None:
    checker = WebSocketChecker(DENIAL, ["chat"], strict=strict)
    run(checker, *before)
    with pytest.raises(ASGIProtocolError) as caught:
        checker.check(message)
    assert caught.value.rule == rule


def test_websocket_denial_more_body_none_is_strict_only() -> None:
    start = {"type": "websocket.http.response.start", "status": 403, "headers": []}
    body = {"type": "websocket.http.response.body", "body": b"", "more_body": None}
    lenient = WebSocketChecker(DENIAL, [])
    run(lenient, start, body)
    assert lenient.state is WebSocketState.DISCONNECTED
    strict = WebSocketChecker(DENIAL, [], strict=True)
    strict.check(start)
    with pytest.raises(ASGIProtocolError) as caught:
        strict.check(body)
    assert caught.value.rule == "websocket.http.response.body.more_body"


@pytest.mark.parametrize(
    "message",
    [
        {"type": "websocket.accept", "headers": [(b"X-Token", b"t")]},
        {"type": "websocket.http.response.start", "status": 403, "headers": [(b"X-Token", b"t")]},
    ],
)
def test_websocket_header_names_are_lowercased_and_warned_of_in_strict_mode(
    message: Message,
) -> None:
    lenient = WebSocketChecker(DENIAL, [])
    lenient.check(message)
    assert lenient.headers == [(b"x-token", b"t")]
    strict = WebSocketChecker(DENIAL, [], strict=True)
    with pytest.warns(ASGIProtocolWarning, match="X-Token"):
        strict.check(message)
    assert strict.headers == [(b"x-token", b"t")]


def test_websocket_checker_records_the_denial_status() -> None:
    checker = WebSocketChecker(DENIAL, [])
    checker.check({"type": "websocket.http.response.start", "status": 401, "headers": []})
    assert checker.status == 401


def test_a_refused_websocket_message_changes_no_recorded_headers() -> None:
    checker = WebSocketChecker(DENIAL, [])
    checker.check({**ACCEPT, "headers": [(b"a", b"1")]})
    with pytest.raises(ASGIProtocolError):
        checker.check({**ACCEPT, "headers": [(b"b", b"2")]})
    with pytest.raises(ASGIProtocolError):
        checker.check({"type": "websocket.http.response.start", "status": 403, "headers": []})
    assert (checker.headers, checker.status) == ([(b"a", b"1")], 0)


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
    checker = LifespanChecker(strict=True)
    for kind in delivered:
        checker.delivered(kind)
    with pytest.raises(ASGIProtocolError, match=hint) as caught:
        checker.check(message)
    assert caught.value.rule == rule


@pytest.mark.parametrize("kind", ["lifespan.startup.failed", "lifespan.shutdown.failed"])
def test_a_failed_message_of_any_type_passes_by_default(kind: str) -> None:
    checker = LifespanChecker()
    checker.delivered("lifespan.startup")
    if kind == "lifespan.shutdown.failed":
        checker.check({"type": "lifespan.startup.complete"})
        checker.delivered("lifespan.shutdown")
    assert checker.check({"type": kind, "message": 3}) == kind


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
