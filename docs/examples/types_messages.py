from typing import cast

from microasgi.types import (
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        # SPEC: raise on a scope type you do not handle (a server then runs without lifespan).
        raise ValueError(f"This app serves http only, not {scope['type']!r}.")
    # Messages are built as annotated locals: mypy checks every key and value type.
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/plain; charset=utf-8")],
    }
    body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"typed!"}
    # mypy never treats a TypedDict as a MutableMapping (the Starlette-identical Message), so
    # the checked local is handed over with a cast: no copy, no runtime cost.
    await send(cast(Message, start))
    await send(cast(Message, body))


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_typed_messages() -> None:
    client = AsyncTestClient(app)
    response = await client.get("/")
    assert response.text == "typed!"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
