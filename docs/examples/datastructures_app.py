from microasgi.datastructures import URL, Headers, MutableHeaders, QueryParams
from microasgi.types import Message, Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    url = URL(scope=scope)  # built lazily from the scope
    headers = Headers(scope=scope)  # a view over scope["headers"]; nothing copied
    params = QueryParams(scope["query_string"])  # parsed on first read
    name = params.get("name", "world")
    body = f"Hello, {name}! You asked for {url.path} on {url.hostname}, "
    body += f"accepting {headers.get('accept', 'anything')}."

    start: Message = {"type": "http.response.start", "status": 200, "headers": []}
    response_headers = MutableHeaders(scope=start)  # writes into start["headers"]
    response_headers["Content-Type"] = "text/plain; charset=utf-8"
    response_headers["Content-Length"] = str(len(body.encode()))
    await send(start)
    await send({"type": "http.response.body", "body": body.encode()})


async def test_app_reads_the_request_and_writes_headers() -> None:
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "scheme": "https",
        "path": "/greet",
        "raw_path": b"/greet",
        "query_string": b"name=Ada",
        "headers": [(b"host", b"example.com"), (b"accept", b"text/plain")],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["headers"] == [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"70"),
    ]
    assert sent[1]["body"] == (
        b"Hello, Ada! You asked for /greet on example.com, accepting text/plain."
    )
