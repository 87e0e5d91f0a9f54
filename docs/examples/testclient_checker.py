"""The protocol checker: an app that breaks an ASGI rule fails the test, naming the rule."""

from __future__ import annotations

import pytest

from microasgi.testclient import ASGIProtocolError, ASGIProtocolWarning, AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def buggy(scope: Scope, receive: Receive, send: Send) -> None:
    """A buggy app: a body must be bytes (every server fails on a str)."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": "text"})


async def test_rule_is_named() -> None:
    with pytest.raises(ASGIProtocolError, match="must be bytes") as caught:
        await AsyncTestClient(buggy).get("/")
    assert caught.value.rule == "http.response.body.body"


async def upper_case(scope: Scope, receive: Receive, send: Send) -> None:
    """Header names must be lowercase, says the spec; every server accepts these anyway."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"X-Id", b"1")]})
    await send({"type": "http.response.body", "body": b""})


async def test_strict_mode_says_what_only_the_spec_forbids() -> None:
    response = await AsyncTestClient(upper_case).get("/")  # accepted, as servers do
    assert response.headers.raw == [(b"x-id", b"1")]  # and lower-cased
    with pytest.warns(ASGIProtocolWarning, match="X-Id"):
        await AsyncTestClient(upper_case, strict=True).get("/")
