from microasgi.datastructures import Headers, MutableHeaders
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

request_headers = Headers(
    raw=[
        (b"host", b"example.com"),
        (b"accept-encoding", b"gzip"),
        (b"cookie", b"a=1"),
        (b"cookie", b"b=2"),  # HTTP/2 may send a header several times
    ]
)


class SecurityHeaders:
    """A plain ASGI middleware that edits the headers of every response as they go out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)  # edits message["headers"] in place
                headers["X-Content-Type-Options"] = "nosniff"
                headers.setdefault("Cache-Control", "no-store")
                headers.add_vary_header("Accept-Encoding")
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    headers = [(b"content-type", b"text/plain"), (b"cache-control", b"max-age=60")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"hi"})


app = SecurityHeaders(hello)


def test_reading_headers() -> None:
    assert request_headers["Host"] == "example.com"  # case-insensitive
    assert request_headers["cookie"] == "a=1"  # the first value
    assert request_headers.getlist("cookie") == ["a=1", "b=2"]
    assert request_headers.get("x-missing") is None
    assert "ACCEPT-ENCODING" in request_headers
    assert len(request_headers) == 4  # every header, duplicates included


def test_writing_headers_is_validated() -> None:
    import pytest

    headers = MutableHeaders()
    headers["Set-Cookie"] = "a=1"
    headers.append("Set-Cookie", "b=2")  # keeps the first
    headers["X-Id"] = "1"
    headers["X-Id"] = "2"  # replaces every value
    assert headers.raw == [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"x-id", b"2")]
    with pytest.raises(ValueError, match="control character"):
        headers["Location"] = "/next\r\nSet-Cookie: stolen=1"  # header injection refused


async def test_middleware_edits_the_start_message() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "http", "path": "/", "headers": []}, receive, send)
    assert sent[0]["headers"] == [
        (b"content-type", b"text/plain"),
        (b"cache-control", b"max-age=60"),
        (b"x-content-type-options", b"nosniff"),
        (b"vary", b"Accept-Encoding"),
    ]
