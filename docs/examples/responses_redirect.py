from microasgi.responses import PlainTextResponse, RedirectResponse, Response
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    response: Response
    if scope["path"] == "/old":
        # 307 by default (method and body kept); 303 sends the client on with a GET.
        response = RedirectResponse("/new caf\u00e9?x=1", status_code=301)
    else:
        response = PlainTextResponse(f"at {scope['path']}")
    await response(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_redirect() -> None:
    client = AsyncTestClient(app, follow_redirects=False)
    response = await client.get("/old")
    assert response.status_code == 301
    assert response.headers["location"] == "/new%20caf%C3%A9?x=1"


def test_only_redirect_statuses() -> None:
    import pytest

    with pytest.raises(ValueError, match="must be a redirect status"):
        RedirectResponse("/somewhere", status_code=200)
