"""SessionMiddleware: signed cookie round trips, hostile cookies, expiry, rotation, attributes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from microasgi.datastructures import Secret
from microasgi.middleware import sessions
from microasgi.middleware.sessions import SessionMiddleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route, Router, WebSocketRoute
from microasgi.testclient import AsyncTestClient, TestResponse
from microasgi.types import Message, Receive, Scope, Send
from microasgi.websockets import WebSocket

DAY = 24 * 60 * 60
T0 = 1_700_000_000


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The module's clock, frozen at ``now[0]``; tests move it by assigning."""
    now = [T0]
    monkeypatch.setattr(sessions, "_now", lambda: now[0])
    return now


async def read(request: Request) -> Response:
    return JSONResponse(request.session)


async def write(request: Request) -> Response:
    request.session.update(await request.json())
    return JSONResponse(request.session)


async def append(request: Request) -> Response:
    request.session.setdefault("items", []).append(len(request.session["items"]))
    return JSONResponse(request.session)


async def clear(request: Request) -> Response:
    request.session.clear()
    return PlainTextResponse("cleared")


SHARED = PlainTextResponse("shared")


async def shared(request: Request) -> Response:
    request.session["seen"] = True
    return SHARED


async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    websocket.session["ignored"] = True  # read-only in a websocket: never written
    await websocket.send_json(websocket.session)
    await websocket.close()


ROUTES = [
    Route("/", read),
    Route("/write", write, methods=["POST"]),
    Route("/append", append),
    Route("/clear", clear),
    Route("/shared", shared),
    WebSocketRoute("/ws", chat),
]


def make(secret_key: Any = "secret", **options: Any) -> SessionMiddleware:
    return SessionMiddleware(Router(ROUTES), secret_key, **options)


def set_cookies(response: TestResponse) -> list[str]:
    return response.headers.getlist("set-cookie")


def cookie_value(response: TestResponse, name: str = "session") -> str:
    (header,) = set_cookies(response)
    pair = header.split(";", 1)[0]
    assert pair.startswith(f"{name}=")
    return pair[len(name) + 1 :]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(
    payload: bytes,
    stamp: bytes | int = T0,
    secret: bytes = b"secret",
    name: str = "session",
    *,
    encoded: bytes | None = None,
) -> str:
    """A cookie signed exactly as the middleware signs, around any payload (or encoded) bytes."""
    key = hmac.new(secret, sessions._KEY_LABEL + name.encode(), hashlib.sha256).digest()
    body = b64(payload).encode() if encoded is None else encoded
    signed = body + b"." + (b"%d" % stamp if isinstance(stamp, int) else stamp)
    signature = b64(hmac.new(key, signed, hashlib.sha256).digest()).encode()
    return (signed + b"." + signature).decode("latin-1")


async def login(client: AsyncTestClient, data: dict[str, Any] | None = None) -> str:
    response = await client.post("/write", json={"user": "ada"} if data is None else data)
    return cookie_value(response)


# --- round trips --------------------------------------------------------------------------------


async def test_a_session_round_trips_through_the_cookie() -> None:
    client = AsyncTestClient(make())
    assert (await client.get("/")).json() == {}
    await login(client, {"user": "ada", "cart": [1, 2], "n": 1.5, "ok": None, "é": "ü"})
    assert (await client.get("/")).json() == {
        "user": "ada",
        "cart": [1, 2],
        "n": 1.5,
        "ok": None,
        "é": "ü",
    }


async def test_the_cookie_is_signed_json_with_a_timestamp() -> None:
    value = await login(AsyncTestClient(make()))
    payload, stamp, signature = value.split(".")
    assert json.loads(base64.urlsafe_b64decode(payload + "==")) == {"user": "ada"}
    assert stamp == str(T0)
    assert value == forge(b'{"user":"ada"}')
    assert len(signature) == 43  # 32 bytes of HMAC-SHA256, base64url without padding


async def test_the_signing_key_is_derived_not_the_raw_secret() -> None:
    value = await login(AsyncTestClient(make()))
    signed, _, signature = value.rpartition(".")
    raw = b64(hmac.new(b"secret", signed.encode(), hashlib.sha256).digest())
    assert signature != raw


@pytest.mark.parametrize("secret_key", ["secret", b"secret", Secret("secret"), ["secret"]])
async def test_secret_key_forms_sign_alike(secret_key: Any) -> None:
    value = await login(AsyncTestClient(make(secret_key)))
    assert value == forge(b'{"user":"ada"}')


async def test_a_cookie_for_one_name_is_refused_under_another() -> None:
    value = forge(b'{"user":"ada"}', name="session")
    client = AsyncTestClient(make(session_cookie="other"))
    assert (await client.get("/", cookies={"other": value})).json() == {}


async def test_websocket_sees_the_session_and_never_writes_it() -> None:
    client = AsyncTestClient(make())
    await login(client)
    async with client.websocket_connect("/ws") as session:
        assert await session.receive_json() == {"user": "ada", "ignored": True}
    assert (await client.get("/")).json() == {"user": "ada"}


async def test_other_scope_types_pass_through() -> None:
    seen: list[Scope] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    middleware = SessionMiddleware(inner, "secret")
    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}}

    async def receive() -> Message:
        raise AssertionError("not called")

    async def send(message: Message) -> None:
        raise AssertionError("not called")

    await middleware(scope, receive, send)
    assert seen == [scope]
    assert "session" not in scope


async def test_the_outer_scope_is_not_changed() -> None:
    seen: list[Scope] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await PlainTextResponse("ok")(scope, receive, send)

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        await SessionMiddleware(inner, "secret")(scope, receive, send)
        assert "session" not in scope

    await AsyncTestClient(outer).get("/")
    assert seen[0]["session"] == {}


# --- writing only what changed ------------------------------------------------------------------


async def test_reading_does_not_rewrite_the_cookie() -> None:
    client = AsyncTestClient(make())
    assert set_cookies(await client.get("/")) == []  # no session, no cookie
    await login(client)
    assert set_cookies(await client.get("/")) == []


async def test_setting_the_same_value_does_not_rewrite_the_cookie() -> None:
    client = AsyncTestClient(make())
    await login(client)
    assert set_cookies(await client.post("/write", json={"user": "ada"})) == []
    assert set_cookies(await client.post("/write", json={"user": "bob"})) != []


async def test_a_nested_change_rewrites_the_cookie() -> None:
    client = AsyncTestClient(make())
    first = cookie_value(await client.get("/append"))
    second = cookie_value(await client.get("/append"))
    assert first != second
    assert (await client.get("/")).json() == {"items": [0, 1]}


async def test_an_old_signature_is_refreshed_when_read(clock: list[int]) -> None:
    client = AsyncTestClient(make(max_age=100))
    await login(client)
    clock[0] = T0 + 49
    assert set_cookies(await client.get("/")) == []
    clock[0] = T0 + 50
    value = cookie_value(await client.get("/"))
    assert value == forge(b'{"user":"ada"}', stamp=T0 + 50)
    clock[0] = T0 + 140  # 140 s after login, 90 s after the refresh: still valid
    assert (await client.get("/")).json() == {"user": "ada"}


async def test_emptying_the_session_clears_the_cookie() -> None:
    client = AsyncTestClient(make())
    await login(client)
    response = await client.get("/clear")
    assert set_cookies(response) == [
        "session=; path=/; Max-Age=0; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax"
    ]
    assert "session" not in client.cookies
    assert set_cookies(await client.get("/clear")) == []  # nothing left to clear


async def test_the_response_object_is_not_changed() -> None:
    client = AsyncTestClient(make())
    for _ in range(3):
        await client.get("/shared")
        client.cookies.clear()
    assert [name for name, _ in SHARED.raw_headers] == [b"content-length", b"content-type"]


# --- hostile and broken cookies: an empty session, never an error -------------------------------


GOOD = forge(b'{"user":"ada"}')
_payload, _stamp, _signature = GOOD.split(".")
FLIPPED = _signature[:-2] + ("A" if _signature[-2] != "A" else "B") + _signature[-1]

HOSTILE = {
    "tampered signature": f"{_payload}.{_stamp}.{FLIPPED}",
    "tampered payload": b64(b'{"user":"root"}') + f".{_stamp}.{_signature}",
    "tampered timestamp": f"{_payload}.{T0 + 1}.{_signature}",
    "truncated": GOOD[:-5],
    "signature only": _signature,
    "no signature": f"{_payload}.{_stamp}",
    "empty signature": f"{_payload}.{_stamp}.",
    "extra part": f"{_payload}.{_stamp}.{_signature}.x",
    "garbage": "not-a-session",
    "dots": "...",
    "non-ascii": GOOD + "é",
    "over-long": forge(b'{"a":"' + b"x" * 3100 + b'"}'),
    "wrong key": forge(b'{"user":"ada"}', secret=b"other"),
    "bad base64": "!!!" + GOOD,
    "bad base64 padding, signed": forge(b"", encoded=b"e30xA"),
    "base64 with stray characters, signed": forge(b"", encoded=b"e30!"),
    "bad utf-8": forge(b'{"user":"\xff"}'),
    "bad json": forge(b'{"user":'),
    "json list": forge(b'["user"]'),
    "json string": forge(b'"user"'),
    "non-digit timestamp": forge(b"{}", stamp=b"12a"),
    "negative timestamp": forge(b"{}", stamp=b"-1"),
    "unicode digits": forge(b"{}", stamp="¹²³".encode("latin-1")),
    "huge timestamp": forge(b"{}", stamp=b"9" * 40),
    "future timestamp": forge(b'{"user":"ada"}', stamp=T0 + 61),
}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
async def test_a_bad_cookie_gives_an_empty_session_and_is_cleared(value: str) -> None:
    client = AsyncTestClient(make())
    response = await client.get("/", headers={"cookie": f"session={value}"})
    assert response.status_code == 200
    assert response.json() == {}
    assert set_cookies(response)[0].startswith("session=; path=/; Max-Age=0;")


async def test_the_over_long_cookie_is_the_only_reason_it_is_refused() -> None:
    accepted = forge(b'{"a":"' + b"x" * 2900 + b'"}')
    assert len(accepted) < 4096 < len(HOSTILE["over-long"])
    response = await AsyncTestClient(make()).get("/", cookies={"session": accepted})
    assert response.json() == {"a": "x" * 2900}


async def test_a_timestamp_within_the_clock_skew_is_accepted() -> None:
    value = forge(b'{"user":"ada"}', stamp=T0 + 60)
    response = await AsyncTestClient(make()).get("/", cookies={"session": value})
    assert response.json() == {"user": "ada"}


async def test_a_bad_cookie_is_replaced_by_a_new_session() -> None:
    client = AsyncTestClient(make(), cookies={"session": "forged"})
    response = await client.post("/write", json={"user": "ada"})
    assert cookie_value(response) == forge(b'{"user":"ada"}')


# --- expiry and replay --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_age", "valid_until"), [(3600, 3600), (None, 14 * DAY)], ids=["max_age", "browser-session"]
)
async def test_expired_by_timestamp(
    clock: list[int], max_age: int | None, valid_until: int
) -> None:
    value = await login(AsyncTestClient(make(max_age=max_age)))
    client = AsyncTestClient(make(max_age=max_age), cookies={"session": value})
    clock[0] = T0 + valid_until
    assert (await client.get("/")).json() == {"user": "ada"}
    clock[0] = T0 + valid_until + 1
    client = AsyncTestClient(make(max_age=max_age), cookies={"session": value})
    response = await client.get("/")
    assert response.json() == {}
    assert set_cookies(response)[0].startswith("session=; path=/; Max-Age=0;")


@pytest.mark.parametrize("max_age", [0, -5])
async def test_a_max_age_of_zero_or_less_is_sent_as_starlette_sends_it(max_age: int) -> None:
    """As Starlette: the cookie is written with that Max-Age (browsers drop it at once)."""
    middleware = make(max_age=max_age)
    assert middleware.max_age == max_age
    (header,) = set_cookies(await AsyncTestClient(middleware).post("/write", json={"a": 1}))
    value = forge(b'{"a":1}')
    assert header == f"session={value}; path=/; Max-Age={max_age}; httponly; samesite=lax"


@pytest.mark.parametrize(
    ("max_age", "age", "kept"),
    [
        (0, 0, True),  # signed this very second: not older than 0 seconds, as in Starlette
        (0, 1, False),
        (-5, 0, False),  # never: every cookie is older than a negative age
        (-5, -3, False),
    ],
)
async def test_a_max_age_of_zero_or_less_refuses_older_cookies(
    clock: list[int], max_age: int, age: int, kept: bool
) -> None:
    clock[0] = T0 + age
    client = AsyncTestClient(make(max_age=max_age), cookies={"session": GOOD})
    response = await client.get("/")
    assert response.json() == ({"user": "ada"} if kept else {})
    # A kept cookie is not refreshed (it is already expired for the browser); a refused one is
    # cleared, as any invalid cookie is.
    assert bool(set_cookies(response)) is not kept


async def test_a_whole_float_max_age_is_that_many_seconds() -> None:
    middleware = make(max_age=float(DAY))
    assert middleware.max_age == DAY
    (header,) = set_cookies(await AsyncTestClient(middleware).post("/write", json={"a": 1}))
    assert f"; Max-Age={DAY};" in header


async def test_replay_works_within_max_age_and_is_refused_after(clock: list[int]) -> None:
    client = AsyncTestClient(make(max_age=3600))
    stolen = await login(client)
    await client.get("/clear")  # logout clears the browser's cookie ...
    replay = AsyncTestClient(make(max_age=3600), cookies={"session": stolen})
    # ... but a stateless session cannot be revoked: a copy stays valid until it expires.
    assert (await replay.get("/")).json() == {"user": "ada"}
    clock[0] = T0 + 3601
    replay = AsyncTestClient(make(max_age=3600), cookies={"session": stolen})
    assert (await replay.get("/")).json() == {}


# --- key rotation -------------------------------------------------------------------------------


async def test_rotation_old_cookies_still_verify_and_are_resigned_with_the_new_key() -> None:
    old = await login(AsyncTestClient(make("old-key")))
    rotated = make(["new-key", "old-key"])
    client = AsyncTestClient(rotated, cookies={"session": old})
    response = await client.get("/")
    assert response.json() == {"user": "ada"}
    # Read-only, yet re-signed with the first key: the rotation completes as clients return.
    assert cookie_value(response) == forge(b'{"user":"ada"}', secret=b"new-key")
    assert set_cookies(await client.get("/")) == []
    new = cookie_value(await client.post("/write", json={"user": "bob"}))
    assert new == forge(b'{"user":"bob"}', secret=b"new-key")
    # The new cookie verifies under the rotated list and once the old key is retired ...
    for keys in (["new-key", "old-key"], ["new-key"]):
        client = AsyncTestClient(make(keys), cookies={"session": new})
        assert (await client.get("/")).json() == {"user": "bob"}
    # ... while a cookie signed by the retired key no longer does.
    client = AsyncTestClient(make(["new-key"]), cookies={"session": old})
    assert (await client.get("/")).json() == {}


async def test_rotation_a_server_still_on_the_old_list_refuses_the_new_key() -> None:
    new = await login(AsyncTestClient(make(["new-key", "old-key"])))
    client = AsyncTestClient(make(["old-key"]), cookies={"session": new})
    assert (await client.get("/")).json() == {}
    # Rolling back to [old, new] keeps both valid: every key in the list verifies.
    client = AsyncTestClient(make(["old-key", "new-key"]), cookies={"session": new})
    assert (await client.get("/")).json() == {"user": "ada"}


# --- size and content errors --------------------------------------------------------------------


async def test_a_session_too_large_for_a_cookie_raises_a_clear_error() -> None:
    client = AsyncTestClient(make())
    with pytest.raises(ValueError, match=r"would be \d+ bytes .* over the 4096 bytes") as caught:
        await client.post("/write", json={"data": "x" * 3100})
    assert "store an id in it" in str(caught.value)


async def test_a_session_holding_a_non_json_value_raises_a_clear_error() -> None:
    async def bad(request: Request) -> Response:
        request.session["when"] = {1, 2}
        return PlainTextResponse("ok")

    client = AsyncTestClient(SessionMiddleware(Router([Route("/", bad)]), "secret"))
    with pytest.raises(TypeError, match="JSON cannot encode"):
        await client.get("/")


# --- cookie attributes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "attributes"),
    [
        ({}, "path=/; Max-Age=1209600; httponly; samesite=lax"),
        ({"max_age": None}, "path=/; httponly; samesite=lax"),
        ({"max_age": 60, "path": "/app"}, "path=/app; Max-Age=60; httponly; samesite=lax"),
        ({"same_site": "strict"}, "path=/; Max-Age=1209600; httponly; samesite=strict"),
        ({"same_site": "Strict"}, "path=/; Max-Age=1209600; httponly; samesite=strict"),
        ({"https_only": True}, "path=/; Max-Age=1209600; httponly; samesite=lax; secure"),
        (
            {"same_site": "none", "https_only": True},
            "path=/; Max-Age=1209600; httponly; samesite=none; secure",
        ),
        (
            {"domain": "example.com"},
            "path=/; Max-Age=1209600; httponly; samesite=lax; domain=example.com",
        ),
        (
            {"https_only": True, "partitioned": True},
            "path=/; Max-Age=1209600; httponly; samesite=lax; secure; partitioned",
        ),
    ],
)
async def test_cookie_attributes(options: dict[str, Any], attributes: str) -> None:
    # Spelled and ordered as Starlette writes them, so tests written for Starlette match.
    response = await AsyncTestClient(make(**options)).post("/write", json={"a": 1})
    (header,) = set_cookies(response)
    assert header == "session=" + forge(b'{"a":1}') + f"; {attributes}"


async def test_clearing_uses_the_same_attributes_without_max_age() -> None:
    middleware = make(domain="example.com", https_only=True, partitioned=True, path="/")
    client = AsyncTestClient(middleware, cookies={"session": GOOD})
    (header,) = set_cookies(await client.get("/clear"))
    assert header == (
        "session=; path=/; Max-Age=0; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; "
        "samesite=lax; secure; domain=example.com; partitioned"
    )


async def test_a_secure_cookie_round_trips_over_https() -> None:
    client = AsyncTestClient(
        make(session_cookie="__Host-session", https_only=True), base_url="https://testserver"
    )
    await client.post("/write", json={"user": "ada"})
    assert (await client.get("/")).json() == {"user": "ada"}


# --- configuration errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "options", "error", "match"),
    [
        (("",), {}, ValueError, "must not be empty"),
        ((b"",), {}, ValueError, "must not be empty"),
        ((Secret(""),), {}, ValueError, "must not be empty"),
        (([],), {}, ValueError, "at least one secret_key"),
        ((["ok", ""],), {}, ValueError, "must not be empty"),
        ((None,), {}, TypeError, "must be a str, bytes or Secret, or a list"),
        ((42,), {}, TypeError, "got int"),
        ((["ok", 42],), {}, TypeError, "Each SessionMiddleware secret_key"),
        (("k",), {"session_cookie": ""}, ValueError, "Invalid session_cookie"),
        (("k",), {"session_cookie": "my session"}, ValueError, "Invalid session_cookie"),
        (("k",), {"session_cookie": "a;b"}, ValueError, "Invalid session_cookie"),
        (("k",), {"max_age": True}, ValueError, "whole number of seconds"),
        (("k",), {"max_age": 1.5}, ValueError, "whole number of seconds"),
        (("k",), {"max_age": "60"}, ValueError, "whole number of seconds"),
        (("k",), {"same_site": "loose"}, ValueError, "'lax', 'strict' or 'none'"),
        (("k",), {"same_site": None}, ValueError, "'lax', 'strict' or 'none'"),
        (("k",), {"same_site": "none"}, ValueError, "same_site='none' needs https_only=True"),
        (("k",), {"partitioned": True}, ValueError, "partitioned=True needs https_only=True"),
        (("k",), {"session_cookie": "__Host-s"}, ValueError, "needs https_only=True"),
        (("k",), {"session_cookie": "__Secure-s"}, ValueError, "needs https_only=True"),
        (
            ("k",),
            {"session_cookie": "__Host-s", "https_only": True, "path": "/app"},
            ValueError,
            "needs path='/' and domain=None",
        ),
        (
            ("k",),
            {"session_cookie": "__Host-s", "https_only": True, "domain": "example.com"},
            ValueError,
            "needs path='/' and domain=None",
        ),
        (("k",), {"path": "app"}, ValueError, "must start with '/'"),
        (("k",), {"path": None}, ValueError, "must start with '/'"),
        (("k",), {"path": "/a;Domain=evil.com"}, ValueError, "path must be printable ASCII"),
        (("k",), {"path": "/a\r\nX: y"}, ValueError, "path must be printable ASCII"),
        (("k",), {"path": "/é"}, ValueError, "path must be printable ASCII"),
        (("k",), {"domain": ""}, ValueError, "domain must be printable ASCII"),
        (("k",), {"domain": "a.com; Secure"}, ValueError, "domain must be printable ASCII"),
        (("k",), {"domain": 42}, ValueError, "domain must be printable ASCII"),
    ],
)
def test_configuration_errors(
    args: tuple[Any, ...], options: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        SessionMiddleware(Router([]), *args, **options)


def test_a_secure_prefixed_cookie_is_accepted_with_https_only() -> None:
    middleware = SessionMiddleware(Router([]), "k", "__Secure-id", https_only=True, path="/app")
    assert middleware.session_cookie == "__Secure-id"
    assert middleware.max_age == 14 * DAY


def test_the_secret_is_not_kept_in_the_middleware() -> None:
    middleware = SessionMiddleware(Router([]), "top-secret-value")
    assert "top-secret-value" not in repr(vars(middleware))


_REAL_NOW = sessions._now  # taken at import, before the autouse fixture replaces it


def test_the_real_clock_is_whole_seconds_of_time_time() -> None:
    import time

    before = int(time.time())
    assert before <= _REAL_NOW() <= int(time.time())


async def test_vary_cookie_when_the_response_depends_on_the_session() -> None:
    async def untouched(request: Request) -> Response:
        return PlainTextResponse("static")

    async def reads(request: Request) -> Response:
        return PlainTextResponse(str(request.session.get("user")))

    async def lists(request: Request) -> Response:
        return PlainTextResponse(",".join(request.session))

    async def writes(request: Request) -> Response:
        request.session["user"] = "ann"
        return PlainTextResponse("ok")

    async def by_key(request: Request) -> Response:
        return PlainTextResponse(request.session["user"])

    async def by_view(request: Request) -> Response:
        session = request.session
        views: dict[str, Any] = {"keys": session.keys, "values": session.values, "in": session}
        view = request.query_params["view"]
        if view == "in":
            return PlainTextResponse(str("user" in session))
        return PlainTextResponse(",".join(str(item) for item in views[view]()))

    app = SessionMiddleware(
        Router(
            [
                Route("/untouched", untouched),
                Route("/reads", reads),
                Route("/lists", lists),
                Route("/writes", writes),
                Route("/by-key", by_key),
                Route("/by-view", by_view),
            ]
        ),
        secret_key="k" * 32,
    )
    async with AsyncTestClient(app) as client:
        assert "vary" not in (await client.get("/untouched")).headers
        assert (await client.get("/reads")).headers["vary"] == "Cookie"
        written = await client.get("/writes")
        assert written.headers["vary"] == "Cookie"
        assert "set-cookie" in written.headers
        assert (await client.get("/lists")).headers["vary"] == "Cookie"
        assert (await client.get("/by-key")).text == "ann"
        assert (await client.get("/by-key")).headers["vary"] == "Cookie"
        for view in ("keys", "values", "in"):
            assert (await client.get("/by-view", params={"view": view})).headers["vary"] == "Cookie"
        # With a session cookie present but unread, the response does not depend on it.
        assert "vary" not in (await client.get("/untouched")).headers


@pytest.mark.parametrize(
    ("change", "modified"),
    [
        (lambda s: s.__setitem__("a", 1), True),
        (lambda s: s.__delitem__("k"), True),
        (lambda s: s.clear(), True),
        (lambda s: s.pop("k"), True),
        (lambda s: s.pop("missing", None), False),
        (lambda s: s.popitem(), True),
        (lambda s: s.setdefault("k", 2), False),
        (lambda s: s.setdefault("new", 2), True),
        (lambda s: s.update(a=1), True),
        (lambda s: s.__ior__({"a": 1}), True),
        (lambda s: s.mark_modified(), True),
        (lambda s: s.get("k"), False),
        (lambda s: s.mark_accessed(), False),
    ],
)
def test_session_notes_reads_and_writes_as_starlettes(change: Any, modified: bool) -> None:
    from starlette.middleware.sessions import Session as StarletteSession

    from microasgi.middleware.sessions import Session

    ours, theirs = Session({"k": 1}), StarletteSession({"k": 1})
    assert (ours.accessed, ours.modified) == (False, False)
    change(ours)
    change(theirs)
    assert ours.modified is modified is theirs.modified
    assert ours.accessed is True
    assert dict(ours) == dict(theirs)


async def test_the_session_is_a_session_object() -> None:
    from microasgi.middleware.sessions import Session

    seen: list[Any] = []

    async def endpoint(request: Request) -> Response:
        seen.append(request.session)
        return PlainTextResponse("ok")

    app = SessionMiddleware(Router([Route("/", endpoint)]), secret_key="k")
    await AsyncTestClient(app).get("/")
    assert isinstance(seen[0], Session)
    assert isinstance(seen[0], dict)
