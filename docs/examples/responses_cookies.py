from datetime import UTC, datetime

from microasgi.responses import PlainTextResponse
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    response = PlainTextResponse("cookies set")
    response.set_cookie("session", "abc123", max_age=3600, httponly=True, secure=True)
    response.set_cookie(
        "embed",
        "1",
        expires=datetime(2037, 1, 22, 12, 0, 10, tzinfo=UTC),
        secure=True,
        samesite="none",
        partitioned=True,  # CHIPS: third-party cookie kept per top-level site
    )
    response.delete_cookie("old")
    await response(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_set_cookie_headers() -> None:
    client = AsyncTestClient(app)
    response = await client.get("/")
    session, embed, old = response.headers.getlist("set-cookie")
    assert session == "session=abc123; HttpOnly; Max-Age=3600; Path=/; SameSite=lax; Secure"
    assert embed == (
        "embed=1; expires=Thu, 22 Jan 2037 12:00:10 GMT; Partitioned; Path=/; SameSite=none; Secure"
    )
    assert old.startswith('old=""; expires=')
    assert old.endswith("; Max-Age=0; Path=/; SameSite=lax")


def test_cookie_values_cannot_add_attributes() -> None:
    import pytest

    response = PlainTextResponse("x")
    response.set_cookie("note", "a; Domain=evil.example")  # quoted, stays one value
    assert response.raw_headers[-1] == (
        b"set-cookie",
        b'note="a\\073 Domain=evil.example"; Path=/; SameSite=lax',
    )
    with pytest.raises(ValueError, match="path must be a str without ';'"):
        response.set_cookie("k", path="/; HttpOnly")
    with pytest.raises(ValueError, match="samesite must be"):
        response.set_cookie("k", samesite="loose")  # type: ignore[arg-type]
