"""The protocol checker: an app that breaks an ASGI rule fails the test, naming the rule."""

from __future__ import annotations

import pytest

from microasgi.testclient import ASGIProtocolError, AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """A buggy app: header names must be lowercase bytes."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"X-Id", b"1")]})
    await send({"type": "http.response.body", "body": b""})


async def test_rule_is_named() -> None:
    with pytest.raises(ASGIProtocolError, match="must be lowercase") as caught:
        await AsyncTestClient(app).get("/")
    assert caught.value.rule == "headers.lowercase"
