"""GZipMiddleware around a raw ASGI app: the body is compressed for clients that accept gzip."""

import gzip

from microasgi.middleware.gzip import GZipMiddleware
from microasgi.types import Message, Receive, Scope, Send

PAGE = b"<p>hello</p>" * 100  # 1,200 bytes: above the 500-byte minimum_size


async def page(scope: Scope, receive: Receive, send: Send) -> None:
    headers = [(b"content-type", b"text/html"), (b"content-length", str(len(PAGE)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": PAGE})


app = GZipMiddleware(page, minimum_size=500, compresslevel=9)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_gzip_for_clients_that_accept_it() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "headers": [(b"accept-encoding", b"gzip, br")]}
    await app(scope, receive, send)
    start, body = sent
    assert (b"content-encoding", b"gzip") in start["headers"]
    assert (b"vary", b"Accept-Encoding") in start["headers"]
    assert gzip.decompress(body["body"]) == PAGE


async def test_the_test_client_decodes_like_a_browser() -> None:
    client = AsyncTestClient(app)
    compressed = await client.get("/", headers={"accept-encoding": "gzip"})
    refused = await client.get("/", headers={"accept-encoding": "gzip;q=0"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert int(compressed.headers["content-length"]) < len(PAGE)
    assert compressed.content == PAGE  # decoded by the client
    assert "content-encoding" not in refused.headers
    assert refused.headers["vary"] == "Accept-Encoding"
