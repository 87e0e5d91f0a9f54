"""CORSMiddleware: simple and preflight requests, Vary, and forged origins."""

from __future__ import annotations

from typing import Any

import pytest

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.middleware.cors import CORSMiddleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient
from microasgi.types import Receive, Scope, Send

from ._raw import Downstream, call, scope

SITE = "https://example.com"


def cors(app: Any = None, **options: Any) -> CORSMiddleware:
    return CORSMiddleware(app or Downstream(), **options)


def preflight(origin: str = SITE, method: str = "GET", *extra: tuple[bytes, bytes]) -> Scope:
    return scope(
        [(b"origin", origin.encode()), (b"access-control-request-method", method.encode()), *extra],
        method="OPTIONS",
    )


def simple(origin: str | None = SITE, *extra: tuple[bytes, bytes], method: str = "GET") -> Scope:
    headers = [] if origin is None else [(b"origin", origin.encode("latin-1"))]
    return scope([*headers, *extra], method=method)


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"allow_origins": ["*"], "allow_credentials": True}, ValueError, "List the origins"),
        ({"allow_origins": "https://example.com"}, TypeError, r"allow_origins=\['https://"),
        ({"allow_methods": "GET"}, TypeError, "allow_methods must be a list"),
        ({"allow_origins": ["https://example.com/"]}, None, None),
        ({"allow_origins": ["https://example.com/path"]}, ValueError, "no path"),
        ({"allow_origins": ["example.com"]}, ValueError, "is not an origin"),
        ({"allow_origins": ["ftp://example.com"]}, ValueError, "is not an origin"),
        ({"allow_origins": ["https://user@example.com"]}, ValueError, "is not an origin"),
        ({"allow_origins": ["https://example.com?x"]}, ValueError, "is not an origin"),
        ({"allow_origins": ["https://example.com:99999"]}, ValueError, "is not an origin"),
        ({"allow_origins": ["null"]}, ValueError, "sandboxed iframes"),
        ({"allow_origins": [3]}, TypeError, "must be a string"),
        ({"allow_origin_regex": "(unclosed"}, ValueError, "not a valid regular expression"),
        ({"allow_methods": ["GET POST"]}, ValueError, "HTTP tokens"),
        ({"allow_headers": ["x-a\r\nx-b"]}, ValueError, "HTTP tokens"),
        ({"expose_headers": [1]}, ValueError, "HTTP tokens"),
        ({"max_age": -1}, ValueError, "max_age"),
        ({"max_age": True}, ValueError, "max_age"),
    ],
)
def test_configuration_is_checked_at_construction(
    options: dict[str, Any], error: type[Exception] | None, match: str | None
) -> None:
    if error is None:
        cors(**options)
        return
    with pytest.raises(error, match=match):
        cors(**options)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://example.com/", "https://example.com"),
        ("HTTPS://Example.COM", "https://example.com"),
        ("https://example.com:443", "https://example.com"),
        ("http://example.com:80", "http://example.com"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_origins_are_stored_as_browsers_serialize_them(given: str, stored: str) -> None:
    assert cors(allow_origins=[given]).allow_origins == {stored}


def test_star_methods_means_the_common_ones() -> None:
    assert cors(allow_methods=["*"]).allow_methods == {
        "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY",
    }  # fmt: skip


PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
    "Access-Control-Request-Private-Network"
)

# --- simple requests -----------------------------------------------------------------------------


async def test_allowed_origin_is_reflected_with_vary() -> None:
    app = cors(allow_origins=[SITE], allow_credentials=True, expose_headers=["X-Total"])
    result = await call(app, simple())
    assert result.body == b"ok"
    assert result.header("access-control-allow-origin") == SITE
    assert result.header("access-control-allow-credentials") == "true"
    assert result.header("access-control-expose-headers") == "X-Total"
    assert result.header("vary") == "Origin"


@pytest.mark.parametrize(
    "origin",
    [
        "https://example.com.evil.com",
        "https://evil.com",
        "https://EXAMPLE.com",
        "HTTPS://example.com",
        "https://example.com.",
        "https://example.com:443",
        "https://example.com:8443",
        "http://example.com",
        "https://example.com/",
        "https://sub.example.com",
        "null",
        "",
        " https://example.com",
        "https://example.com\t",
    ],
)
async def test_forged_origins_get_no_cors_headers(origin: str) -> None:
    app = cors(allow_origins=[SITE], allow_credentials=True, expose_headers=["X-Total"])
    result = await call(app, simple(origin))
    assert result.body == b"ok"
    assert result.header("access-control-allow-origin") is None
    assert result.header("access-control-allow-credentials") is None
    assert result.header("access-control-expose-headers") is None
    assert result.header("vary") == "Origin"


async def test_several_origin_headers_are_trusted_for_none() -> None:
    app = cors(allow_origins=[SITE])
    result = await call(app, simple(SITE, (b"origin", SITE.encode())))
    assert result.header("access-control-allow-origin") is None


async def test_no_origin_still_varies_on_origin() -> None:
    # A cache must not serve this answer to a cross-origin request later.
    result = await call(cors(allow_origins=[SITE]), simple(None))
    assert result.header("vary") == "Origin"
    assert result.header("access-control-allow-origin") is None


@pytest.mark.parametrize(
    ("existing", "merged"),
    [
        ([(b"vary", b"Accept-Encoding")], ["Accept-Encoding, Origin"]),
        ([(b"vary", b"origin")], ["origin"]),
        ([(b"vary", b"*")], ["*"]),
        ([], ["Origin"]),
        # Regression: only the first of several Vary fields was kept.
        (
            [(b"vary", b"Accept-Language"), (b"Vary", b"Cookie")],
            ["Accept-Language, Cookie, Origin"],
        ),
    ],
)
async def test_vary_is_merged_into_the_apps(
    existing: list[tuple[bytes, bytes]], merged: list[str]
) -> None:
    result = await call(cors(Downstream(headers=existing), allow_origins=[SITE]), simple())
    assert result.header_list("vary") == merged


async def test_allow_all_origins_answers_star_and_varies_on_origin() -> None:
    """Regression: with ``["*"]`` no Vary was sent, but Starlette 1.10 (like us now) adds the
    CORS headers only to requests with an ``Origin``: the answer depends on it."""
    app = cors(allow_origins=["*"], expose_headers=["X-Total"])
    for request in (simple(), simple("null"), simple(SITE, (b"cookie", b"a=b"))):
        result = await call(app, request)
        assert result.header("access-control-allow-origin") == "*"
        assert result.header("access-control-allow-credentials") is None
        assert result.header("access-control-expose-headers") == "X-Total"
        assert result.header("vary") == "Origin"
    result = await call(app, simple(None))
    assert result.header("access-control-allow-origin") is None
    assert result.header("access-control-expose-headers") is None
    assert result.header("vary") == "Origin"


async def test_cors_headers_replace_the_apps() -> None:
    downstream = Downstream(headers=[(b"access-control-allow-origin", b"https://other.example")])
    result = await call(cors(downstream, allow_origins=[SITE]), simple())
    assert result.header_list("access-control-allow-origin") == [SITE]


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://a.example.com", True),
        ("https://a.b.example.com", True),
        ("https://example.com", True),  # from the list
        ("https://a.example.com.evil.com", False),
        ("https://evil.com/.example.com", False),
        ("https://aexample.com", False),
        ("http://a.example.com", False),
        ("https://a.example.com\x01", False),
        ("https://é.example.com", False),
        ("https://" + "a" * 300 + ".example.com", False),
    ],
)
async def test_origin_regex_must_match_in_full(origin: str, allowed: bool) -> None:
    app = cors(allow_origins=[SITE], allow_origin_regex=r"https://([a-z0-9-]+\.)*example\.com")
    assert app.is_allowed_origin(origin) is allowed
    result = await call(app, simple(origin))
    assert (result.header("access-control-allow-origin") == origin) is allowed


async def test_null_can_be_allowed_on_purpose_with_the_regex() -> None:
    result = await call(cors(allow_origin_regex="null"), simple("null"))
    assert result.header("access-control-allow-origin") == "null"


async def test_other_scopes_pass_through() -> None:
    downstream = Downstream()
    result = await call(cors(downstream, allow_origins=[SITE]), scope(type="websocket"))
    assert result.status == 101
    assert downstream.called


async def test_options_without_request_method_is_a_simple_request() -> None:
    downstream = Downstream()
    result = await call(cors(downstream, allow_origins=[SITE]), simple(method="OPTIONS"))
    assert downstream.called
    assert result.header("access-control-allow-origin") == SITE


async def test_streaming_body_messages_pass_untouched() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        await send({"type": "http.response.body", "body": b"b"})

    result = await call(cors(app, allow_origins=[SITE]), simple())
    assert result.body == b"ab"
    assert result.header("access-control-allow-origin") == SITE


# --- preflight -----------------------------------------------------------------------------------


async def test_preflight_allowed() -> None:
    app = cors(
        allow_origins=[SITE],
        allow_methods=["GET", "POST"],
        allow_headers=["X-Token"],
        allow_credentials=True,
        max_age=60,
    )
    result = await call(
        app, preflight(SITE, "POST", (b"access-control-request-headers", b"x-token"))
    )
    assert result.status == 200
    assert result.body == b"OK"
    assert result.header("access-control-allow-origin") == SITE
    assert result.header("access-control-allow-methods") == "GET, POST"
    # As Starlette: the safelisted names in their canonical case, the configured ones as given.
    assert result.header("access-control-allow-headers") == (
        "Accept, Accept-Language, Content-Language, Content-Type, X-Token"
    )
    assert result.header("access-control-allow-credentials") == "true"
    assert result.header("access-control-max-age") == "60"
    assert result.header("vary") == PREFLIGHT_VARY


async def test_preflight_never_reaches_the_app() -> None:
    downstream = Downstream()
    await call(cors(downstream, allow_origins=[SITE]), preflight())
    assert not downstream.called


@pytest.mark.parametrize(
    ("request_scope", "reason"),
    [
        (preflight("https://example.com.evil.com"), "origin"),
        (preflight("null"), "origin"),
        (preflight(SITE, "DELETE"), "method"),
        (preflight(SITE, "get"), "method"),
        (preflight(SITE, "GET", (b"access-control-request-headers", b"x-secret")), "headers"),
        (
            preflight(SITE, "GET", (b"access-control-request-headers", b"x-token, bad header")),
            "headers",
        ),
        (
            preflight(SITE, "GET", (b"access-control-request-private-network", b"true")),
            "private-network",
        ),
        (
            preflight("https://evil.com", "PUT", (b"access-control-request-headers", b"x-secret")),
            "origin, method, headers",
        ),
    ],
)
async def test_disallowed_preflight_says_which_check_failed(
    request_scope: Scope, reason: str
) -> None:
    app = cors(allow_origins=[SITE], allow_headers=["x-token"])
    result = await call(app, request_scope)
    assert result.status == 400
    assert result.body.decode() == f"Disallowed CORS {reason}"
    if "origin" in reason:
        assert result.header("access-control-allow-origin") is None
    # Regression: refused answers varied on Origin alone, so a cache could serve a refusal
    # for one requested method or header list to another.
    assert result.header("vary") == PREFLIGHT_VARY


@pytest.mark.parametrize(
    "requested",
    [
        b"x-token",
        b"X-Token",
        b" x-token ,\tContent-Type ",
        b"x-token,,content-type,",
        b"X-TOKEN, ACCEPT",
        b"",
        b",",
    ],
)
async def test_requested_headers_tolerate_spacing_and_casing(requested: bytes) -> None:
    app = cors(allow_origins=[SITE], allow_headers=["X-Token"])
    result = await call(app, preflight(SITE, "GET", (b"access-control-request-headers", requested)))
    assert result.status == 200


async def test_requested_headers_across_several_fields() -> None:
    app = cors(allow_origins=[SITE], allow_headers=["x-a", "x-b"])
    request = preflight(
        SITE,
        "GET",
        (b"access-control-request-headers", b"x-a"),
        (b"access-control-request-headers", b"x-b"),
    )
    assert (await call(app, request)).status == 200
    app = cors(allow_origins=[SITE], allow_headers=["x-a"])
    assert (await call(app, request)).body == b"Disallowed CORS headers"


@pytest.mark.parametrize(
    ("allow_headers", "listed"),
    [
        ([], "Accept, Accept-Language, Content-Language, Content-Type"),
        (["x-token"], "Accept, Accept-Language, Content-Language, Content-Type, x-token"),
        (
            ["Authorization"],
            "Accept, Accept-Language, Authorization, Content-Language, Content-Type",
        ),
        # A safelisted name keeps its canonical spelling; a repeated name is listed once, as first
        # given.
        (
            ["content-type", "X-A", "x-a"],
            "Accept, Accept-Language, Content-Language, Content-Type, X-A",
        ),
    ],
)
async def test_allowed_headers_are_listed_as_starlette_lists_them(
    allow_headers: list[str], listed: str
) -> None:
    app = cors(allow_origins=[SITE], allow_headers=allow_headers)
    result = await call(app, preflight(SITE, "GET", (b"access-control-request-headers", b"X-A")))
    assert result.header("access-control-allow-headers") == listed
    # Matching stays case-insensitive whatever the spelling.
    assert result.status == (200 if "x-a" in listed.lower() else 400)
    requested = (b"access-control-request-headers", b"CONTENT-TYPE,accept")
    assert (await call(app, preflight(SITE, "GET", requested))).status == 200


async def test_allow_all_headers_echoes_the_request_as_sent() -> None:
    app = cors(allow_origins=[SITE], allow_headers=["*"])
    result = await call(
        app, preflight(SITE, "GET", (b"access-control-request-headers", b"X-Example"))
    )
    assert result.status == 200
    assert result.header("access-control-allow-headers") == "X-Example"
    result = await call(
        app, preflight(SITE, "GET", (b"access-control-request-headers", b" X-A ,x-b"))
    )
    assert result.status == 200
    assert result.header("access-control-allow-headers") == "X-A ,x-b"
    result = await call(
        app,
        preflight(
            SITE,
            "GET",
            (b"access-control-request-headers", b"X-A"),
            (b"access-control-request-headers", b"x-b,X-C"),
        ),
    )
    assert result.header("access-control-allow-headers") == "X-A, x-b,X-C"
    result = await call(app, preflight())
    assert result.header("access-control-allow-headers") is None
    result = await call(
        app, preflight(SITE, "GET", (b"access-control-request-headers", b"x-a, b\x7fad"))
    )
    assert result.body == b"Disallowed CORS headers"


async def test_preflight_with_allow_all_origins_answers_star() -> None:
    result = await call(cors(allow_origins=["*"]), preflight("https://anyone.example"))
    assert result.status == 200
    assert result.header("access-control-allow-origin") == "*"
    assert result.header("vary") == PREFLIGHT_VARY


async def test_preflight_vary_is_starlettes() -> None:
    from starlette.middleware.cors import CORSMiddleware as StarletteCORS

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("a preflight never reaches the app")

    option_sets: list[dict[str, Any]] = [{"allow_origins": [SITE]}, {"allow_origins": ["*"]}]
    for options in option_sets:
        for request in (preflight(), preflight("https://evil.com", "PUT")):
            ours = await call(cors(**options), request)
            theirs = await call(StarletteCORS(app, **options), request)
            assert ours.header("vary") == theirs.header("vary")
    for request in (simple(), simple(None), simple("https://evil.com")):
        for options in option_sets:
            ours = await call(cors(**options), request)
            theirs = await call(StarletteCORS(Downstream(), **options), request)
            assert ours.header("vary") == theirs.header("vary")
            assert ours.header("access-control-allow-origin") == theirs.header(
                "access-control-allow-origin"
            )


async def test_private_network_preflight_when_allowed() -> None:
    app = cors(allow_origins=[SITE], allow_private_network=True)
    result = await call(
        app, preflight(SITE, "GET", (b"access-control-request-private-network", b"true"))
    )
    assert result.status == 200
    assert result.header("access-control-allow-private-network") == "true"
    result = await call(app, preflight())
    assert result.header("access-control-allow-private-network") is None


async def test_several_origins_in_a_preflight_are_refused() -> None:
    request = preflight(SITE, "GET", (b"origin", SITE.encode()))
    result = await call(cors(allow_origins=[SITE]), request)
    assert result.body == b"Disallowed CORS origin"


# --- through the application and the test client -------------------------------------------------


async def test_through_an_application() -> None:
    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("home")

    app = MicroASGI(
        routes=[Route("/", home, methods=["GET", "POST"])],
        middleware=[Middleware(CORSMiddleware, allow_origins=[SITE], allow_methods=["POST"])],
    )
    client = AsyncTestClient(app)
    response = await client.post("/", headers={"origin": SITE})
    assert response.text == "home"
    assert response.headers["access-control-allow-origin"] == SITE
    response = await client.options(
        "/", headers={"origin": SITE, "access-control-request-method": "POST"}
    )
    assert response.status_code == 200
    response = await client.options(
        "/", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
    )
    assert response.status_code == 400
    assert response.text == "Disallowed CORS origin"
