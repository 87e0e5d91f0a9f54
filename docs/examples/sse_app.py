"""A raw ASGI app streaming Server-Sent Events: an async generator of events, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

from microasgi.responses import EventSourceResponse, ServerSentEvent
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send


async def countdown() -> AsyncIterator[ServerSentEvent]:
    for n in (3, 2, 1):
        yield ServerSentEvent(data=str(n), event="tick", id=str(n))
    yield ServerSentEvent(data="liftoff", event="done")


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    await EventSourceResponse(countdown())(scope, receive, send)


async def test_event_stream() -> None:
    response = await AsyncTestClient(app).get("/")
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.text == (
        "id: 3\nevent: tick\ndata: 3\n\n"
        "id: 2\nevent: tick\ndata: 2\n\n"
        "id: 1\nevent: tick\ndata: 1\n\n"
        "event: done\ndata: liftoff\n\n"
    )
