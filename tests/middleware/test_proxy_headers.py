"""ProxyHeadersMiddleware: only trusted peers, chains walked from the right, url_for behind a proxy."""

from __future__ import annotations

from typing import Any

import pytest

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.middleware.proxy_headers import ProxyHeadersMiddleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient
from microasgi.types import Scope

from ._raw import Downstream, call, scope

PROXY = ("10.0.0.1", 40000)


async def seen(
    request_headers: list[tuple[bytes, bytes]],
    /,
    *,
    trusted: Any = ("10.0.0.0/8",),
    client: Any = PROXY,
    **options: Any,
) -> Scope:
    """The scope the app behind the middleware sees."""
    downstream = Downstream()
    options.setdefault("headers", "auto")  # both families, so each parser is exercised
    middleware = ProxyHeadersMiddleware(downstream, trusted, **options)
    request = scope([(b"host", b"internal:8000"), *request_headers], client=client)
    await call(middleware, request)
    return downstream.scopes[0]


def host_of(seen_scope: Scope) -> list[bytes]:
    return [value for name, value in seen_scope["headers"] if name == b"host"]


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "match"),
    [
        (["10.0.0.1/8"], "host bits set"),
        (["10.0.0.0/33"], "not valid"),
        ([""], "not valid"),
        (["10.0.0.1 10.0.0.2"], "not valid"),
        ("10.0.0.1,,10.0.0.2", "not valid"),
    ],
)
def test_bad_trusted_hosts_are_refused(trusted: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ProxyHeadersMiddleware(Downstream(), trusted)


def test_bad_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="'auto', 'forwarded' or 'x-forwarded'"):
        ProxyHeadersMiddleware(Downstream(), headers="both")  # type: ignore[arg-type]


def test_trusted_hosts_from_a_comma_separated_string() -> None:
    middleware = ProxyHeadersMiddleware(Downstream(), "127.0.0.1, 10.0.0.0/8 ,[::1]")
    assert middleware.trusted_hosts == ["127.0.0.1", "10.0.0.0/8", "[::1]"]
    assert not middleware.always_trust


# --- who is trusted ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "peer", "applied"),
    [
        (("10.0.0.1",), "10.0.0.1", True),
        (("10.0.0.1",), "10.0.0.2", False),
        (("10.0.0.0/8",), "10.200.0.1", True),
        (("10.0.0.0/8",), "11.0.0.1", False),
        (("10.0.0.0/8",), "::ffff:10.0.0.1", True),  # dual-stack sockets report IPv4 like this
        (("::1",), "0:0:0:0:0:0:0:1", True),
        (("[::1]",), "::1", True),
        (("fd00::/8",), "fd12::1", True),
        (("fd00::/8",), "10.0.0.1", False),
        (("testclient",), "testclient", True),
        (("testclient",), "other", False),
        (("*",), "203.0.113.9", True),
        (("127.0.0.1",), None, False),
    ],
)
async def test_headers_are_read_only_from_trusted_peers(
    trusted: Any, peer: str | None, applied: bool
) -> None:
    client = None if peer is None else (peer, 1234)
    result = await seen([(b"x-forwarded-for", b"203.0.113.7")], trusted=trusted, client=client)
    assert (result["client"] == ("203.0.113.7", 0)) is applied


async def test_untrusted_peer_keeps_the_scope_untouched() -> None:
    headers = [
        (b"forwarded", b'for=6.6.6.6;proto=https;host="evil.com"'),
        (b"x-forwarded-for", b"6.6.6.6"),
        (b"x-forwarded-proto", b"https"),
        (b"x-forwarded-host", b"evil.com"),
    ]
    result = await seen(headers, client=("203.0.113.7", 555))
    assert result["client"] == ("203.0.113.7", 555)
    assert result["scheme"] == "http"
    assert host_of(result) == [b"internal:8000"]


# --- Forwarded -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "client", "scheme", "host"),
    [
        (b"for=203.0.113.7", ("203.0.113.7", 0), "http", b"internal:8000"),
        (b'for="[2001:db8::1]:4711";proto=https;host=example.com',
         ("2001:db8::1", 4711), "https", b"example.com"),
        (b'for=203.0.113.7;proto=HTTPS;host="example.com:8443"',
         ("203.0.113.7", 0), "https", b"example.com:8443"),
        # the chain is walked from the right, past trusted proxies
        (b"for=203.0.113.7;proto=https, for=10.0.0.5;proto=http", ("203.0.113.7", 0), "https", b"internal:8000"),
        # a forged element left of the real client is ignored
        (b"for=1.2.3.4;host=evil.com, for=203.0.113.7;host=example.com",
         ("203.0.113.7", 0), "http", b"example.com"),
        # all trusted: the leftmost
        (b"for=10.0.0.9, for=10.0.0.5", ("10.0.0.9", 0), "http", b"internal:8000"),
        # obfuscated identifiers are kept, "unknown" and garbage make the client unknown
        (b'for="_hidden:_p"', ("_hidden", 0), "http", b"internal:8000"),
        (b"for=unknown;proto=https", None, "https", b"internal:8000"),
        (b"for=example.com", None, "http", b"internal:8000"),
        # no "for": the proxy did not say; the client stays, proto and host are used
        (b"proto=https;host=example.com", PROXY, "https", b"example.com"),
        # an unparsable header never yields the trusted proxy's address
        (b'for="203.0.113.7, for=10.0.0.5', None, "http", b"internal:8000"),
        (b"for=203.0.113.7;for=1.1.1.1", None, "http", b"internal:8000"),
        # bad proto and host values are ignored
        (b"for=203.0.113.7;proto=gopher;host=\"evil.com/x\"", ("203.0.113.7", 0), "http", b"internal:8000"),
        (b'for=203.0.113.7;host="a@evil.com"', ("203.0.113.7", 0), "http", b"internal:8000"),
        (b'for=203.0.113.7;host="[::1]:8000"', ("203.0.113.7", 0), "http", b"[::1]:8000"),
    ],
)  # fmt: skip
async def test_forwarded(value: bytes, client: Any, scheme: str, host: bytes) -> None:
    result = await seen([(b"forwarded", value)])
    assert result["client"] == client
    assert result["scheme"] == scheme
    assert host_of(result) == [host]


async def test_forwarded_fields_are_joined() -> None:
    result = await seen([(b"forwarded", b"for=203.0.113.7"), (b"forwarded", b"for=10.0.0.3")])
    assert result["client"] == ("203.0.113.7", 0)


async def test_forwarded_is_preferred_over_x_forwarded() -> None:
    headers = [
        (b"forwarded", b"for=203.0.113.7;proto=https"),
        (b"x-forwarded-for", b"6.6.6.6"),
        (b"x-forwarded-proto", b"http"),
    ]
    result = await seen(headers)
    assert result["client"] == ("203.0.113.7", 0)
    assert result["scheme"] == "https"


@pytest.mark.parametrize(
    ("mode", "client"),
    [("auto", "203.0.113.7"), ("forwarded", "203.0.113.7"), ("x-forwarded", "198.51.100.2")],
)
async def test_modes_pin_the_header_family(mode: Any, client: str) -> None:
    headers = [(b"forwarded", b"for=203.0.113.7"), (b"x-forwarded-for", b"198.51.100.2")]
    result = await seen(headers, headers=mode)
    assert result["client"] == (client, 0)


async def test_forwarded_mode_ignores_x_forwarded() -> None:
    result = await seen([(b"x-forwarded-for", b"6.6.6.6")], headers="forwarded")
    assert result["client"] == PROXY


async def test_long_chains_are_bounded() -> None:
    chain = ", ".join(["for=10.0.0.9"] * 5000 + ["for=203.0.113.7"] + ["for=10.0.0.5"] * 3)
    result = await seen([(b"forwarded", chain.encode())])
    assert result["client"] == ("203.0.113.7", 0)
    xff = ", ".join(["10.0.0.9"] * 5000)
    result = await seen([(b"x-forwarded-for", xff.encode())])
    assert result["client"] == ("10.0.0.9", 0)  # only the last hops are looked at


# --- X-Forwarded-* -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "client", "scheme", "host"),
    [
        ([(b"x-forwarded-for", b"203.0.113.7")], ("203.0.113.7", 0), "http", b"internal:8000"),
        ([(b"x-forwarded-for", b"2001:db8::1")], ("2001:db8::1", 0), "http", b"internal:8000"),
        ([(b"x-forwarded-for", b"[2001:db8::1]:4711")], ("2001:db8::1", 4711), "http", b"internal:8000"),
        ([(b"x-forwarded-for", b"203.0.113.7:5555")], ("203.0.113.7", 5555), "http", b"internal:8000"),
        # forged entries left of the real client are ignored
        ([(b"x-forwarded-for", b"1.2.3.4, 203.0.113.7, 10.0.0.3")], ("203.0.113.7", 0), "http", b"internal:8000"),
        ([(b"x-forwarded-for", b"1.2.3.4"), (b"x-forwarded-for", b"203.0.113.7")],
         ("203.0.113.7", 0), "http", b"internal:8000"),
        ([(b"x-forwarded-for", b"garbage")], None, "http", b"internal:8000"),
        ([(b"x-forwarded-for", b"")], None, "http", b"internal:8000"),
        # proto and host alone (the client stays the peer)
        ([(b"x-forwarded-proto", b"https"), (b"x-forwarded-host", b"example.com")], PROXY, "https", b"example.com"),
        ([(b"x-forwarded-proto", b" https ")], PROXY, "https", b"internal:8000"),
        ([(b"x-forwarded-proto", b"javascript")], PROXY, "http", b"internal:8000"),
        ([(b"x-forwarded-host", b"example.com/evil")], PROXY, "http", b"internal:8000"),
        ([(b"x-forwarded-host", b"example.com\r\nx: y")], PROXY, "http", b"internal:8000"),
        # one value per hop: read at the client's position
        ([(b"x-forwarded-for", b"6.6.6.6, 203.0.113.7, 10.0.0.3"),
          (b"x-forwarded-proto", b"http, https, http"),
          (b"x-forwarded-host", b"evil.com, example.com, internal")],
         ("203.0.113.7", 0), "https", b"example.com"),
        # otherwise the last (most recent) value
        ([(b"x-forwarded-for", b"6.6.6.6, 203.0.113.7"),
          (b"x-forwarded-proto", b"https"),
          (b"x-forwarded-host", b"evil.com, a, example.com")],
         ("203.0.113.7", 0), "https", b"example.com"),
    ],
)  # fmt: skip
async def test_x_forwarded(
    headers: list[tuple[bytes, bytes]], client: Any, scheme: str, host: bytes
) -> None:
    result = await seen(headers)
    assert result["client"] == client
    assert result["scheme"] == scheme
    assert host_of(result) == [host]


async def test_no_proxy_headers_leave_the_scope_as_is() -> None:
    result = await seen([])
    assert result["client"] == PROXY


@pytest.mark.parametrize(
    ("proto", "scheme"), [("https", "wss"), ("http", "ws"), ("wss", "wss"), ("ws", "ws")]
)
async def test_websocket_schemes(proto: str, scheme: str) -> None:
    downstream = Downstream()
    middleware = ProxyHeadersMiddleware(downstream, ["10.0.0.1"])
    request = scope(
        [(b"x-forwarded-proto", proto.encode())], type="websocket", scheme="ws", client=PROXY
    )
    await call(middleware, request)
    assert downstream.scopes[0]["scheme"] == scheme


@pytest.mark.parametrize(("proto", "scheme"), [("wss", "https"), ("ws", "http")])
async def test_websocket_protos_on_http_scopes(proto: str, scheme: str) -> None:
    result = await seen([(b"x-forwarded-proto", proto.encode())])
    assert result["scheme"] == scheme


async def test_the_outer_scope_is_not_changed() -> None:
    downstream = Downstream()
    middleware = ProxyHeadersMiddleware(downstream, ["10.0.0.1"])
    request = scope([(b"x-forwarded-host", b"example.com")], client=PROXY)
    original_headers = list(request["headers"])
    await call(middleware, request)
    assert request["client"] == PROXY
    assert request["headers"] == original_headers
    assert downstream.scopes[0] is not request


async def test_lifespan_passes_through() -> None:
    downstream = Downstream()
    await call(ProxyHeadersMiddleware(downstream), {"type": "lifespan"})
    assert downstream.called


# --- behind a proxy, through an application ------------------------------------------------------


async def test_url_for_is_right_behind_a_proxy() -> None:
    async def user(request: Request) -> JSONResponse:
        client = request.client
        return JSONResponse(
            {
                "url": str(request.url),
                "link": str(request.url_for("user", name="ann")),
                "client": None if client is None else client.host,
            }
        )

    app = MicroASGI(
        routes=[Route("/users/{name}", user, name="user")],
        middleware=[
            Middleware(ProxyHeadersMiddleware, trusted_hosts=["10.0.0.0/8"], headers="forwarded")
        ],
    )
    behind_proxy = AsyncTestClient(app, base_url="http://internal:8000", client=PROXY)
    response = await behind_proxy.get(
        "/users/bob?x=1",
        headers={"forwarded": 'for="[2001:db8::7]:4711";proto=https;host=shop.example.com'},
    )
    assert response.json() == {
        "url": "https://shop.example.com/users/bob?x=1",
        "link": "https://shop.example.com/users/ann",
        "client": "2001:db8::7",
    }
    direct = AsyncTestClient(app, base_url="http://internal:8000", client=("203.0.113.7", 1))
    response = await direct.get(
        "/users/bob", headers={"x-forwarded-proto": "https", "x-forwarded-host": "evil.com"}
    )
    assert response.json() == {
        "url": "http://internal:8000/users/bob",
        "link": "http://internal:8000/users/ann",
        "client": "203.0.113.7",
    }


async def test_the_default_reads_x_forwarded_only() -> None:
    # SECURITY: nginx, Traefik, Caddy and Envoy append X-Forwarded-For and pass a client's own
    # Forwarded header through; reading Forwarded by default would let that client pick its address.
    downstream = Downstream()
    middleware = ProxyHeadersMiddleware(downstream, ["10.0.0.1"])
    await call(
        middleware,
        scope([(b"forwarded", b"for=6.6.6.6"), (b"x-forwarded-for", b"203.0.113.7")], client=PROXY),
    )
    assert downstream.scopes[0]["client"] == ("203.0.113.7", 0)
