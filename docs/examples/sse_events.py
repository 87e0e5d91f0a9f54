"""Events: every field, multi-line data, and the shorthand items a producer may yield."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from microasgi.responses import EventSourceResponse, ServerSentEvent
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


def test_fields() -> None:
    event = ServerSentEvent(
        data="first line\nsecond line",  # CR, LF and CRLF all split lines
        event="update",
        id="42",
        retry=5000,  # the client's reconnection delay, in milliseconds
        comment="not shown to scripts",
    )
    assert event.encode() == (
        b": not shown to scripts\n"
        b"id: 42\n"
        b"event: update\n"
        b"data: first line\n"
        b"data: second line\n"
        b"retry: 5000\n"
        b"\n"
    )


def test_nothing_can_be_smuggled_in() -> None:
    with pytest.raises(ValueError, match="must not contain CR or LF"):
        ServerSentEvent(event="update\ndata: forged")
    with pytest.raises(ValueError, match="must not contain NUL, CR or LF"):
        ServerSentEvent(id="7\r")
    with pytest.raises(TypeError, match=r"json\.dumps"):
        ServerSentEvent(data={"not": "a str"})  # type: ignore[arg-type]


def readings() -> Iterator[Any]:
    # A blocking generator is fine: each step runs in a worker thread.
    yield ServerSentEvent(data="21.5", event="temperature")
    yield {"data": json.dumps({"humidity": 40}), "event": "humidity"}  # a dict: the same fields
    yield "plain data"  # a str (or bytes): just data


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    await EventSourceResponse(readings())(scope, receive, send)


async def test_shorthand_items() -> None:
    response = await AsyncTestClient(app).get("/")
    assert response.text == (
        "event: temperature\ndata: 21.5\n\n"
        'event: humidity\ndata: {"humidity": 40}\n\n'
        "data: plain data\n\n"
    )
