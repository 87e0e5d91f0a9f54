"""Resuming a stream: the browser sends back the id of the last event it saw."""

from __future__ import annotations

from microasgi.requests import Request
from microasgi.responses import EventSourceResponse, ServerSentEvent, last_event_id
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send

LOG = ["boot", "ready", "serving", "draining"]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    seen = last_event_id(Request(scope))  # None on the first connection
    start = int(seen) + 1 if seen is not None and seen.isdigit() else 0
    events = [ServerSentEvent(data=line, id=n) for n, line in enumerate(LOG) if n >= start]
    await EventSourceResponse(events)(scope, receive, send)


async def test_resume_after_reconnect() -> None:
    client = AsyncTestClient(app)
    first = await client.get("/")
    assert first.text.count("data: ") == 4
    resumed = await client.get("/", headers={"Last-Event-ID": "1"})
    assert resumed.text == "id: 2\ndata: serving\n\nid: 3\ndata: draining\n\n"
