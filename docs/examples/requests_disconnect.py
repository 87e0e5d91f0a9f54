from microasgi.requests import ClientDisconnect, Request
from microasgi.responses import PlainTextResponse
from microasgi.types import Message, Receive, Scope, Send

finished: list[str] = []


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    steps = 0
    for _ in range(3):
        # A costly job checks between steps whether anyone is still waiting for it.
        if await request.is_disconnected():
            finished.append("abandoned")
            return
        steps += 1
    try:
        body = await request.body()  # a body message taken by is_disconnected() is not lost
    except ClientDisconnect:
        finished.append("left during upload")
        return  # nobody to answer
    finished.append("done")
    await PlainTextResponse(f"{steps} steps, {len(body)} bytes")(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_client_still_there() -> None:
    finished.clear()
    client = AsyncTestClient(app)
    response = await client.post("/", content=b"hello")
    assert response.text == "3 steps, 5 bytes"
    assert finished == ["done"]


async def run_with(messages: list[Message]) -> list[Message]:
    """Drive ``app`` by hand with a receive that hands out ``messages``."""
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await app(scope, receive, send)
    return sent


async def test_client_gone() -> None:
    finished.clear()
    part: Message = {"type": "http.request", "body": b"he", "more_body": True}
    assert await run_with([{"type": "http.disconnect"}]) == []
    assert await run_with([part, part, part, {"type": "http.disconnect"}]) == []
    assert finished == ["abandoned", "left during upload"]
