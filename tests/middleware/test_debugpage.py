"""The debug page (``MicroASGI(debug=True)``): frames, chains, groups, the request, escaping."""

from __future__ import annotations

import html
import re
import traceback
from typing import Any

import pytest

from microasgi.applications import MicroASGI
from microasgi.middleware._debugpage import _is_library, render_html, render_text
from microasgi.middleware.errors import ServerErrorMiddleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse
from microasgi.routing import Route, WebSocketRoute
from microasgi.testclient import AsyncTestClient, WebSocketDenialResponse
from microasgi.types import Message, Receive, Scope, Send
from microasgi.websockets import WebSocket

HOSTILE = "<script>document.title='pwned'</script>"
HTML = {"accept": "text/html"}


class Boom(Exception):
    """What the apps under test raise."""


def fail_here() -> None:
    raise Boom(HOSTILE)


async def failing_endpoint(request: Request) -> PlainTextResponse:
    secret_token = "tok-" + "x" * 500
    fail_here()
    return PlainTextResponse(secret_token)  # pragma: no cover (never reached)


async def page_for(app: Any, url: str = "/", **headers: str) -> str:
    client = AsyncTestClient(app, raise_server_exceptions=False)
    response = await client.get(url, headers={**HTML, **headers})
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'"
    )
    return response.text


async def raw_failing_app(scope: Scope, receive: Receive, send: Send) -> None:
    fail_here()


def frames(page: str) -> list[str]:
    return re.findall(r"<details class=\"frame.*?</details>", page, flags=re.S)


def scope_for(**items: Any) -> Scope:
    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    scope.update(items)
    return scope


def raised(func: Any) -> BaseException:
    try:
        func()
    except BaseException as exc:
        return exc
    raise AssertionError("did not raise")  # pragma: no cover


async def test_frames_with_source_app_open_library_collapsed() -> None:
    app = MicroASGI(debug=True, routes=[Route("/", failing_endpoint)])
    page = await page_for(app)
    assert page.startswith("<!DOCTYPE html>")
    found = frames(page)
    app_frames = [f for f in found if 'class="frame app" open' in f]
    library_frames = [f for f in found if 'class="frame library">' in f]
    assert [re.search(r'"function">(\w+)<', f).group(1) for f in app_frames] == [  # type: ignore[union-attr]
        "failing_endpoint",
        "fail_here",
    ]
    assert library_frames, "microasgi's own frames are shown, collapsed"
    assert all("microasgi" in f or "anyio" in f or "python3" in f for f in library_frames)
    innermost = app_frames[-1]
    assert __file__ in innermost
    assert "    raise Boom(HOSTILE)" in innermost
    # The failing line is marked, with a few lines around it.
    marked = re.search(r"<mark class=\"current\"[^>]*>(.*?)</mark>", innermost)
    assert marked is not None
    assert "raise Boom(HOSTILE)" in marked.group(1)
    assert "&gt;" in marked.group(1)
    assert "def fail_here() -&gt; None:" in innermost
    assert "Boom: &lt;script&gt;" in page
    # SECURITY: the document is self-contained: no script, no external asset.
    assert "<script" not in page
    assert "<link" not in page
    assert "src=" not in page.replace("default-src", "").replace("style-src", "")
    assert "<title>500 Server Error: Boom</title>" in page


async def test_locals_only_when_asked() -> None:
    routes = [Route("/", failing_endpoint)]
    plain = await page_for(MicroASGI(debug=True, routes=routes))
    assert "<th>secret_token</th>" not in plain
    assert 'class="locals"' not in plain
    page = await page_for(MicroASGI(debug=True, routes=routes, debug_locals=True))
    row = re.search(r"<th>secret_token</th><td>(.*?)</td>", page)
    assert row is not None
    assert row.group(1).startswith("&#x27;tok-xxx")
    assert html.unescape(row.group(1)).endswith("...")
    assert len(html.unescape(row.group(1))) == 240


async def test_locals_are_escaped_and_a_broken_repr_is_survived() -> None:
    class Hostile:
        def __repr__(self) -> str:
            return HOSTILE

    class Broken:
        def __repr__(self) -> str:
            raise ValueError("no repr")

    async def endpoint(request: Request) -> PlainTextResponse:
        hostile, broken = Hostile(), Broken()
        raise Boom(f"{hostile!r} {id(broken)}")

    page = await page_for(MicroASGI(routes=[Route("/", endpoint)], debug=True, debug_locals=True))
    assert f"<th>hostile</th><td>{html.escape(HOSTILE)}</td>" in page
    assert "<th>broken</th><td>&lt;repr() failed: ValueError&gt;</td>" in page
    assert HOSTILE not in page


def test_a_frame_without_locals_says_so() -> None:
    code = compile("def f():\n    raise Boom('x')\n", "made.py", "exec")
    namespace: dict[str, Any] = {"Boom": Boom}
    exec(code, namespace)
    page = render_html(raised(namespace["f"]), scope_for(), show_locals=True)
    assert "no local variables" in page


def test_hostile_file_and_function_names_are_escaped() -> None:
    name = "<img src=x onerror=alert(1)>.py"
    code = compile("def f():\n    raise Boom('x')\n", name, "exec")
    namespace: dict[str, Any] = {"Boom": Boom}
    exec(code, namespace)
    page = render_html(raised(namespace["f"]), scope_for())
    assert html.escape(name) in page
    assert "<img" not in page
    assert "(source not available)" in page  # no such file, and no loader gave its source


async def test_request_section_redacts_credentials() -> None:
    app = MicroASGI(debug=True, routes=[Route("/here", failing_endpoint)])
    page = await page_for(
        app,
        "/here?q=%3Cb%3E&empty=&q=2",
        authorization="Bearer sekrit",
        cookie="session=sekrit",
        **{"proxy-authorization": "Basic sekrit", "set-cookie": "a=sekrit", "x-hostile": HOSTILE},
    )
    request = page[page.index('<section id="request">') :]
    assert "<th>Method</th><td>GET</td>" in request
    assert "<th>URL</th><td>http://testserver/here?q=%3Cb%3E&amp;empty=&amp;q=2</td>" in request
    assert "<th>Client</th><td>testclient:50000</td>" in request
    assert "sekrit" not in page
    for name in ("authorization", "cookie", "proxy-authorization", "set-cookie"):
        assert f"<th>{name}</th><td>[redacted]</td>" in request
    assert f"<th>x-hostile</th><td>{html.escape(HOSTILE)}</td>" in request
    query = request[request.index('id="query"') :]
    assert "<th>q</th><td>&lt;b&gt;</td><tr>" not in query
    assert re.findall(r"<tr><th>(\w+)</th><td>(.*?)</td></tr>", query) == [
        ("q", "&lt;b&gt;"),
        ("empty", ""),
        ("q", "2"),
    ]


def test_request_section_from_a_bare_scope() -> None:
    page = render_html(Boom("x"), scope_for(server=("example.org", None), scheme="https"))
    assert "<th>URL</th><td>https://example.org/</td>" in page
    assert "<th>Client</th><td>unknown</td>" in page
    assert '<p class="none" id="headers">none</p>' in page
    assert '<p class="none" id="query">none</p>' in page
    page = render_html(Boom("x"), scope_for(server=("10.0.0.1", 8000), path="/<p>"))
    assert "<th>URL</th><td>http://10.0.0.1:8000/&lt;p&gt;</td>" in page
    page = render_html(Boom("x"), {"type": "websocket", "path": "/ws"})
    assert "<th>URL</th><td>http:///ws</td>" in page
    assert "<th>Method</th><td>GET</td>" in page
    assert "<th>Type</th><td>websocket (HTTP/1.1)</td>" in page


def test_the_chain_reads_as_python_prints_it() -> None:
    def chained() -> None:
        try:
            try:
                raise KeyError("first")
            except KeyError as exc:
                raise ValueError("second") from exc
        except ValueError:
            raise Boom("third")  # noqa: B904 (the implicit context is what is tested)

    exc = raised(chained)
    page = render_html(exc, scope_for())
    page = page[page.index('<section id="traceback">') :]
    python = render_text(exc)
    assert python == "".join(traceback.format_exception(exc))
    cause = "The above exception was the direct cause of the following exception:"
    context = "During handling of the above exception, another exception occurred:"
    order = [
        page.index("KeyError: &#x27;first&#x27;</pre>"),
        page.index(cause),
        page.index("ValueError: second</pre>"),
        page.index(context),
        page.index("Boom: third</pre>"),
    ]
    assert order == sorted(order)
    assert python.index(cause) < python.index(context)


def test_a_suppressed_context_and_a_cycle_are_not_shown_twice() -> None:
    def suppressed() -> None:
        try:
            raise KeyError("hidden")
        except KeyError:
            raise Boom("shown") from None

    page = render_html(raised(suppressed), scope_for())
    assert "KeyError: &#x27;hidden" not in page
    first, second = Boom("one"), Boom("two")
    first.__context__, second.__context__ = second, first
    page = render_html(first, scope_for())
    page = page[page.index('<section id="traceback">') :]
    assert page.count("Boom: one</pre>") == 1
    assert page.count("Boom: two</pre>") == 1


def test_exception_groups_show_each_sub_exception() -> None:
    def grouped() -> None:
        try:
            fail_here()
        except Boom as exc:
            raise ExceptionGroup("several", [exc, ValueError("<v>")]) from None

    page = render_html(raised(grouped), scope_for())
    assert "<h3>Exception Group Traceback</h3>" in page
    assert "ExceptionGroup: several (2 sub-exceptions)" in page
    assert page.index("Sub-exception 1 of 2") < page.index("raise Boom(HOSTILE)")
    assert page.index("raise Boom(HOSTILE)") < page.index("Sub-exception 2 of 2")
    assert "ValueError: &lt;v&gt;" in page


def test_wide_and_deep_groups_are_cut_as_python_cuts_them() -> None:
    wide = ExceptionGroup("wide", [ValueError(str(n)) for n in range(17)])
    page = render_html(wide, scope_for())
    assert "Sub-exception 15 of 17" in page
    assert "Sub-exception 16" not in page
    assert "and 2 more exceptions" in page
    page = render_html(ExceptionGroup("w", [ValueError(str(n)) for n in range(16)]), scope_for())
    assert "and 1 more exception<" in page
    deep: Exception = ValueError("bottom")
    for level in range(12):
        deep = ExceptionGroup(f"level {level}", [deep])
    page = render_html(deep, scope_for())
    assert "max_group_depth is 10" in page
    assert "ValueError: bottom" not in page


def test_a_deep_recursion_is_counted_not_repeated() -> None:
    def down(n: int) -> None:
        if n == 0:
            raise Boom("bottom")
        down(n - 1)

    page = render_html(raised(lambda: down(20)), scope_for())
    assert page.count('"function">down<') == 4  # three repeats shown, then the last call
    assert "[Previous frame repeated 17 more times]" in page
    page = render_html(raised(lambda: down(3)), scope_for())
    assert page.count('"function">down<') == 4
    assert '<p class="repeat">[Previous' not in page
    page = render_html(raised(lambda: down(4)), scope_for())
    assert "[Previous frame repeated 1 more time]" in page


def test_a_message_that_cannot_be_shown() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    page = render_html(Unprintable(), scope_for())
    assert "&lt;exception str() failed&gt;" in page


@pytest.mark.parametrize(
    ("filename", "module", "library"),
    [
        ("/app/main.py", "main", False),
        ("/app/main.py", None, False),
        ("/app/vendored.py", "anyio._backends", True),
        ("<frozen importlib._bootstrap>", None, True),
        (traceback.__file__, "whatever", True),
    ],
)
def test_which_frames_are_the_library(filename: str, module: object, library: bool) -> None:
    assert _is_library(filename, module) is library


# --- never without debug; plain text ------------------------------------------------------


async def test_never_shown_without_debug() -> None:
    for app in (
        MicroASGI(routes=[Route("/", failing_endpoint)], debug_locals=True),
        ServerErrorMiddleware(raw_failing_app, debug_locals=True),
    ):
        client = AsyncTestClient(app, raise_server_exceptions=False)
        response = await client.get("/", headers=HTML)
        assert (response.status_code, response.text) == (500, "Internal Server Error")


async def test_plain_text_for_clients_that_do_not_accept_html() -> None:
    app = MicroASGI(debug=True, debug_locals=True, routes=[Route("/", failing_endpoint)])
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.startswith("Traceback (most recent call last):")
    assert response.text.rstrip().endswith(f"Boom: {HOSTILE}")
    assert "tok-xxx" not in response.text


# --- websockets -----------------------------------------------------------------------------


async def failing_websocket(websocket: WebSocket) -> None:
    fail_here()


async def accepted_then_failing(websocket: WebSocket) -> None:
    await websocket.accept()
    fail_here()


@pytest.mark.parametrize("fused", [True, False], ids=["application", "middleware"])
async def test_websocket_error_before_accept_gets_the_page_as_a_denial(fused: bool) -> None:
    app: Any = (
        MicroASGI(debug=True, routes=[WebSocketRoute("/ws", failing_websocket)])
        if fused
        else ServerErrorMiddleware(raw_failing_app, debug=True)
    )
    client = AsyncTestClient(app, raise_server_exceptions=False)
    with pytest.raises(WebSocketDenialResponse) as caught:
        async with client.websocket_connect("/ws", headers=HTML):
            pass  # pragma: no cover
    denial = caught.value
    assert denial.status_code == 500
    assert denial.headers["content-type"] == "text/html; charset=utf-8"
    assert "Boom: &lt;script&gt;" in denial.text
    assert "<th>Type</th><td>websocket (HTTP/1.1)</td>" in denial.text
    with pytest.raises(WebSocketDenialResponse) as caught:
        async with client.websocket_connect("/ws"):
            pass  # pragma: no cover
    assert caught.value.headers["content-type"] == "text/plain; charset=utf-8"
    assert caught.value.text.rstrip().endswith(f"Boom: {HOSTILE}")
    # The error still goes to the server, for its log, after the denial was sent.
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    scope: Scope = {
        "type": "websocket",
        "path": "/ws",
        "headers": [],
        "extensions": {"websocket.http.response": {}},
    }
    with pytest.raises(Boom):
        await app(scope, receive, send)
    assert [m["type"] for m in sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]


async def test_websocket_without_the_extension_or_debug_or_after_accept_is_as_before() -> None:
    routes = [
        WebSocketRoute("/ws", failing_websocket),
        WebSocketRoute("/late", accepted_then_failing),
    ]
    for app, extensions in (
        (MicroASGI(debug=True, routes=routes), {}),
        (MicroASGI(routes=routes), None),
    ):
        client = AsyncTestClient(app, extensions=extensions)
        with pytest.raises(Boom):
            async with client.websocket_connect("/ws"):
                pass  # pragma: no cover
    client = AsyncTestClient(MicroASGI(debug=True, routes=routes))
    with pytest.raises(Boom):
        async with client.websocket_connect("/late") as session:
            await session.receive_text()


async def test_other_scopes_pass_through_in_debug() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Any:  # pragma: no cover (never read)
        return {}

    async def send(message: Any) -> None:  # pragma: no cover (nothing sent)
        pass

    await ServerErrorMiddleware(app, debug=True)({"type": "lifespan"}, receive, send)
    await ServerErrorMiddleware(app, debug=True)({"type": "websocket"}, receive, send)
    assert seen == ["lifespan", "websocket"]
