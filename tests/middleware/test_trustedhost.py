"""TrustedHostMiddleware: patterns, ports, IPv6, malformed Host headers, www redirects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.middleware.trustedhost import TrustedHostMiddleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient, WebSocketDenialResponse
from microasgi.websockets import WebSocketDisconnect

from ._raw import Downstream, call, scope

PATTERNS = ["example.com", "*.example.org", "api.test:8443", "[::1]", "127.0.0.1", "www.shop.com"]


def trusted(hosts: Sequence[str] | None = None, **options: Any) -> tuple[Any, Downstream]:
    downstream = Downstream()
    return TrustedHostMiddleware(downstream, hosts, **options), downstream


def host(*values: bytes, **extra: Any) -> Any:
    return scope([(b"host", value) for value in values], **extra)


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "error", "match"),
    [
        ("example.*", ValueError, "must be like '\\*.example.com'"),
        ("*example.com", ValueError, "must be like"),
        ("a.*.example.com", ValueError, "must be like"),
        ("https://example.com", ValueError, "list the host alone: 'example.com'"),
        ("example.com/path", ValueError, "list the host alone: 'example.com'"),
        ("::1", ValueError, r"in brackets: '\[::1\]'"),
        ("exa mple.com", ValueError, "not a valid host pattern"),
        ("*.[::1]", ValueError, "wildcard on an IP address"),
        ("example.com:99999", ValueError, "not a valid host pattern"),
        ("example.com:", ValueError, "not a valid host pattern"),
        ("[V1.foo]", ValueError, "not a valid host pattern"),
        ("*.[v1.foo]", ValueError, "wildcard on an IP address"),
        (3, TypeError, "must be a string"),
    ],
)
def test_bad_patterns_are_refused(pattern: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        TrustedHostMiddleware(Downstream(), [pattern])


def test_a_single_string_is_refused() -> None:
    with pytest.raises(TypeError, match=r"allowed_hosts=\['example.com'\]"):
        TrustedHostMiddleware(Downstream(), "example.com")


def test_defaults_allow_any_host() -> None:
    middleware = TrustedHostMiddleware(Downstream())
    assert middleware.allowed_hosts == ["*"]
    assert middleware.allow_any


# --- matching ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        (b"example.com", True),
        (b"EXAMPLE.com", True),
        (b"example.com.", True),
        (b"example.com:8000", True),
        (b"example.com:00080", True),
        (b"sub.example.com", False),
        (b"example.com.evil.com", False),
        (b"evilexample.com", False),
        (b"api.example.org", True),
        (b"a.b.example.org:80", True),
        (b"example.org", False),
        (b"xexample.org", False),
        (b"api.test:8443", True),
        (b"api.test", False),
        (b"api.test:443", False),
        (b"[::1]", True),
        (b"[::1]:8000", True),
        (b"[0:0:0:0:0:0:0:1]", True),
        (b"[::2]", False),
        (b"127.0.0.1:5000", True),
        (b"127.0.0.2", False),
    ],
)
async def test_host_matching(value: bytes, allowed: bool) -> None:
    app, downstream = trusted(PATTERNS)
    result = await call(app, host(value))
    assert downstream.called is allowed
    assert result.status == (200 if allowed else 400)


@pytest.mark.parametrize(
    "headers",
    [
        [b""],
        [b"example.com/evil"],
        [b"example.com?x"],
        [b"example.com#x"],
        [b"user@example.com"],
        [b"example.com@evil.com"],
        [b"exa mple.com"],
        [b" example.com"],
        [b"example.com\r\nx-injected: 1"],
        [b"example.com\x00"],
        [b"example.com\t"],
        ["exämple.com".encode()],
        ["exämple.com".encode("latin-1")],
        [b"example.com:80:80"],
        [b"example.com:http"],
        [b"example.com:65536"],
        [b"example.com:"],  # an empty port: Starlette 1.10 answers 400 too
        [b"api.example.org:"],
        [b"[::1]:"],
        [b"api.example.org:evil"],
        [b"[V1.foo]"],
        [b"[v1.]"],
        [b"[vz.foo]"],
        [b"[::1"],
        [b"[::1]x"],
        [b"::1"],
        [b"[fe80::1%25eth0]"],
        [b"example..com"],
        [b".example.com"],
        [b"example.com", b"example.com"],
        [b"example.com", b"evil.com"],
        [b"a" * 300],
    ],
)
@pytest.mark.parametrize("hosts", [PATTERNS, ["*"]])
async def test_malformed_host_is_a_400(headers: list[bytes], hosts: list[str]) -> None:
    app, downstream = trusted(hosts)
    result = await call(app, host(*headers))
    assert result.status == 400
    assert result.body == b"Invalid host header"
    assert not downstream.called


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        (b"[v1.foo]", True),
        (b"[v1.FOO]:8000", True),
        (b"[v1.bar]", False),
        (b"[v2.foo]", False),
        (b"v1.foo", False),
        (b"[v1.foo]:", False),
    ],
)
async def test_ipvfuture_patterns(value: bytes, allowed: bool) -> None:
    """RFC 3986 IPvFuture literals are patterns and hosts, as in Starlette."""
    app, downstream = trusted(["[v1.foo]"])
    result = await call(app, host(value))
    assert downstream.called is allowed
    assert result.status == (200 if allowed else 400)


# What Starlette 1.10 answers to each Host (recorded by running it) and where we differ, on
# purpose: each difference refuses a Host that could confuse the code that reads it.
_STARLETTE_PATTERNS = ["example.com", "*.example.org", "[::1]", "[v1.foo]", "www.shop.com"]
_STARLETTE_TABLE: list[tuple[bytes, int, int]] = [
    # (Host, Starlette's status, ours)
    (b"example.com", 200, 200),
    (b"EXAMPLE.com:8000", 200, 200),
    (b"example.com:00080", 200, 200),
    (b"example.com:", 400, 400),
    (b"example.com:evil", 400, 400),
    (b"example.com:80:80", 400, 400),
    (b"api.example.org", 200, 200),
    (b"api.example.org:", 400, 400),
    (b"api.example.org:evil", 400, 400),
    (b"[::1]", 200, 200),
    (b"[::1]:8000", 200, 200),
    (b"[::1]:", 400, 400),
    (b"[::1]x", 400, 400),
    (b"[v1.foo]", 200, 200),
    (b"[v1.foo]:80", 200, 200),
    (b"[v1.foo]:", 400, 400),
    (b"[V1.foo]", 400, 400),
    (b"[fe80::1%25eth0]", 400, 400),
    (b"user@example.com", 400, 400),
    (b"example.com/x", 400, 400),
    (b"example.com\r\n", 400, 400),
    (b"", 400, 400),
    (b"shop.com", 307, 307),
    (b"shop.com:", 400, 400),
    # Differences: a port past 65535 (reading request.url.port would raise), RFC 3986 sub-delims,
    # "%" or empty labels in a name (no DNS name has them), an IPv6 address spelled another way
    # (the same address), a fully qualified name (the same name).
    (b"example.com:65536", 200, 400),
    (b"a!b.example.org", 200, 400),
    (b"a%41.example.org", 200, 400),
    (b".example.org", 200, 400),
    (b"[0:0::1]", 400, 200),
    (b"example.com.", 400, 200),
]


@pytest.mark.parametrize(("value", "starlette", "ours"), _STARLETTE_TABLE)
async def test_answers_as_starlette_or_safer(value: bytes, starlette: int, ours: int) -> None:
    app, _ = trusted(_STARLETTE_PATTERNS)
    assert (await call(app, host(value))).status == ours


@pytest.mark.parametrize(("value", "starlette", "ours"), _STARLETTE_TABLE)
async def test_the_table_is_what_starlette_answers(value: bytes, starlette: int, ours: int) -> None:
    module = pytest.importorskip("starlette.middleware.trustedhost")
    version = pytest.importorskip("starlette").__version__
    if tuple(int(part) for part in version.split(".")[:2]) < (1, 10):  # pragma: no cover
        pytest.skip("the table records Starlette 1.10")
    app = module.TrustedHostMiddleware(Downstream(), allowed_hosts=_STARLETTE_PATTERNS)
    assert (await call(app, host(value))).status == starlette


async def test_missing_host_is_a_400_when_hosts_are_listed() -> None:
    app, downstream = trusted(PATTERNS)
    assert (await call(app, host())).status == 400
    assert not downstream.called


async def test_allow_any_lets_a_missing_host_through() -> None:
    app, downstream = trusted(["*"])
    assert (await call(app, host())).status == 200
    assert (await call(app, host(b"anything.example"))).status == 200
    assert len(downstream.scopes) == 2


async def test_lifespan_passes_through() -> None:
    app, downstream = trusted(["example.com"])
    await call(app, scope(type="lifespan"))
    assert downstream.called


# --- www redirect --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_scope", "location"),
    [
        (host(b"shop.com"), "http://www.shop.com/"),
        (host(b"shop.com", scheme="https"), "https://www.shop.com/"),
        (host(b"shop.com:8000", path="/a b/c", query_string=b"x=1&y=%2F"),
         "http://www.shop.com:8000/a%20b/c?x=1&y=%2F"),
        (host(b"shop.com", path="//evil.example/x"), "http://www.shop.com//evil.example/x"),
        (host(b"shop.com", path="/@evil.example"), "http://www.shop.com/@evil.example"),
    ],
)  # fmt: skip
async def test_www_redirect_stays_on_the_allowed_host(request_scope: Any, location: str) -> None:
    app, downstream = trusted(PATTERNS)
    result = await call(app, request_scope)
    assert result.status == 307
    assert result.header("location") == location
    assert not downstream.called


@pytest.mark.parametrize(
    ("hosts", "value"),
    [
        (PATTERNS, b"evil.com"),  # www.evil.com is not allowed
        (["*.shop.com"], b"shop.com"),  # only exact patterns redirect
        (["www.shop.com:8443"], b"shop.com:8000"),  # the port must be allowed with www too
    ],
)
async def test_no_redirect_unless_www_host_is_allowed(hosts: list[str], value: bytes) -> None:
    app, _ = trusted(hosts)
    result = await call(app, host(value))
    assert result.status == 400


async def test_www_redirect_can_be_turned_off() -> None:
    app, _ = trusted(PATTERNS, www_redirect=False)
    assert (await call(app, host(b"shop.com"))).status == 400


# --- websockets ----------------------------------------------------------------------------------


async def test_websocket_with_a_bad_host_is_closed() -> None:
    app, downstream = trusted(PATTERNS)
    result = await call(app, host(b"evil.com", type="websocket", scheme="ws"))
    assert result.messages[0]["type"] == "websocket.close"
    assert not downstream.called


async def test_websocket_with_a_bad_host_is_denied_with_400_when_offered() -> None:
    app, _ = trusted(PATTERNS)
    request = host(
        b"shop.com", type="websocket", scheme="ws", extensions={"websocket.http.response": {}}
    )
    result = await call(app, request)
    assert result.messages[0]["type"] == "websocket.http.response.start"
    assert result.status == 400  # never a redirect for a websocket


async def test_websocket_with_a_good_host_passes() -> None:
    app, downstream = trusted(PATTERNS)
    result = await call(app, host(b"example.com", type="websocket", scheme="ws"))
    assert result.status == 101
    assert downstream.called


# --- through the application and the test client -------------------------------------------------


def test_through_an_application(test_client_factory: Callable[..., Any]) -> None:
    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.url))

    app = MicroASGI(
        routes=[Route("/", home)],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["www.example.com"])],
    )
    client = test_client_factory(app, base_url="http://www.example.com")
    assert client.get("/").text == "http://www.example.com/"
    response = client.get("http://example.com/?q=1", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "http://www.example.com/?q=1"
    assert client.get("/", headers={"host": "evil.com"}).status_code == 400


async def test_websocket_through_the_test_client() -> None:
    app = TrustedHostMiddleware(Downstream(), ["example.com"])
    client = AsyncTestClient(app, base_url="http://evil.com")
    with pytest.raises(WebSocketDisconnect):
        async with client.websocket_connect("/"):
            pass  # pragma: no cover - the handshake is refused
    client = AsyncTestClient(
        app, base_url="http://evil.com", extensions={"websocket.http.response": {}}
    )
    with pytest.raises(WebSocketDenialResponse) as denied:
        async with client.websocket_connect("/"):
            pass  # pragma: no cover - the handshake is refused
    assert denied.value.status_code == 400
