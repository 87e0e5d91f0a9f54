"""cancel_on_disconnect: an expensive endpoint stops when its client leaves before the answer."""

import anyio

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route

log: list[str] = []


async def summarize(request: Request) -> Response:
    document = await request.body()  # read as usual: nothing of the body is lost
    try:
        await anyio.sleep_forever()  # a long call to a model, a slow query...
    finally:
        log.append(f"stopped after reading {len(document)} bytes")
    return JSONResponse({"summary": "..."})


app = MicroASGI(
    routes=[Route("/summarize", summarize, methods=["POST"], cancel_on_disconnect=True)]
)


from microasgi.types import Message  # noqa: E402 (imported here to read as a second step)


async def test_the_endpoint_stops_when_the_client_leaves() -> None:
    log.clear()
    sent: list[Message] = []
    incoming: list[Message] = [
        {"type": "http.request", "body": b"a long ", "more_body": True},
        {"type": "http.request", "body": b"document", "more_body": False},
    ]
    client_left = anyio.Event()

    async def receive() -> Message:
        if incoming:
            return incoming.pop(0)
        await client_left.wait()  # as a server does, until the connection closes
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/summarize", "headers": []}
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(app, scope, receive, send)
            await anyio.wait_all_tasks_blocked()  # the endpoint is at work
            client_left.set()  # the client closes the connection
    assert log == ["stopped after reading 15 bytes"]
    assert sent == []  # nobody to answer: nothing is sent
