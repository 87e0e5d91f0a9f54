from collections.abc import AsyncIterator

import anyio

from microasgi.responses import StreamingResponse
from microasgi.types import Message, Receive, Scope, Send

stats = {"ticks": 0, "closed": 0}


async def ticker() -> AsyncIterator[bytes]:
    try:
        while True:
            stats["ticks"] += 1
            yield b"tick\n"
            await anyio.Event().wait()  # idle until some event: only the client leaving ends it
    finally:
        stats["closed"] += 1  # cleanup runs as soon as the client has gone


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    await StreamingResponse(ticker(), media_type="text/plain")(scope, receive, send)


# Below, a hand-made server shows the two ways a server reports that the client has gone.


def get_scope(spec_version: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": "GET" if not headers else "POST",
        "path": "/",
        "query_string": b"",
        "headers": headers,
    }


async def test_http_disconnect_message() -> None:
    stats.update(ticks=0, closed=0)
    first_tick = anyio.Event()

    async def send(message: Message) -> None:
        if message.get("body"):
            first_tick.set()

    async def receive() -> Message:
        await first_tick.wait()
        return {"type": "http.disconnect"}  # the client closed the connection

    await app(get_scope("2.3", []), receive, send)
    assert stats == {"ticks": 1, "closed": 1}


async def test_oserror_from_send() -> None:
    stats.update(ticks=0, closed=0)

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            raise ConnectionResetError("client gone")  # ASGI 2.4: an OSError subclass

    async def receive() -> Message:
        await anyio.Event().wait()  # a request body is pending: nobody listens here
        raise AssertionError("not reached")

    await app(get_scope("2.4", [(b"content-length", b"2")]), receive, send)  # returns quietly
    assert stats == {"ticks": 1, "closed": 1}
