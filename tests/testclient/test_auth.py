"""HTTP Basic credentials from ``auth=``, as HTTPX (and so Starlette's client) sends them."""

from __future__ import annotations

import inspect
import json
from base64 import b64encode
from collections.abc import Callable
from typing import Any

import pytest

from microasgi.testclient import AsyncTestClient, TestClient
from microasgi.types import Receive, Scope, Send

TestClientFactory = Callable[..., TestClient]


def basic(credentials: bytes) -> str:
    return "Basic " + b64encode(credentials).decode("ascii")


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer with the request's headers (HTTP) or accept with them (websocket), as text pairs."""
    pairs = [[name.decode(), value.decode()] for name, value in scope["headers"]]
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": json.dumps(pairs)})
        await send({"type": "websocket.close", "code": 1000})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(pairs).encode()})


def authorization(pairs: list[list[str]]) -> str | None:
    values = [value for name, value in pairs if name == "authorization"]
    assert len(values) <= 1
    return values[0] if values else None


async def test_a_username_and_password_are_sent_as_basic_credentials() -> None:
    client = AsyncTestClient(echo)
    response = await client.get("/", auth=("tomchristie", "example"))
    assert authorization(response.json()) == basic(b"tomchristie:example")
    assert response.request.headers["authorization"] == basic(b"tomchristie:example")
    assert authorization((await client.get("/")).json()) is None  # for that request only


async def test_text_is_utf8_and_bytes_are_sent_as_given() -> None:
    response = await AsyncTestClient(echo).get("/", auth=("usér", b"p:\xffw"))
    assert authorization(response.json()) == basic(b"us\xc3\xa9r:p:\xffw")


async def test_credentials_replace_an_authorization_header_in_its_place() -> None:
    headers = {"Authorization": "Bearer x", "x-after": "1"}
    response = await AsyncTestClient(echo).get("/", headers=headers, auth=("a", "b"))
    names = [name for name, _ in response.json()]
    assert names[-2:] == ["authorization", "x-after"]
    assert authorization(response.json()) == basic(b"a:b")


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "DELETE", "POST", "PUT", "PATCH"])
def test_every_method_takes_auth(test_client_factory: TestClientFactory, method: str) -> None:
    client = test_client_factory(echo)
    response = getattr(client, method.lower())("/", auth=("a", "b"))
    assert response.request.headers["authorization"] == basic(b"a:b")
    response = client.request(method, "/", auth=("c", "d"))
    assert response.request.headers["authorization"] == basic(b"c:d")


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "DELETE", "POST", "PUT", "PATCH"])
async def test_every_async_method_takes_auth(method: str) -> None:
    response = await getattr(AsyncTestClient(echo), method.lower())("/", auth=("a", "b"))
    assert response.request.headers["authorization"] == basic(b"a:b")


def test_the_client_auth_is_the_default(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(echo, auth=("user", "pass"))
    assert client.auth == ("user", "pass")
    assert authorization(client.get("/").json()) == basic(b"user:pass")
    assert authorization(client.get("/", auth=("other", "x")).json()) == basic(b"other:x")
    assert authorization(client.get("/", auth=None).json()) is None  # None: none, as HTTPX
    client.auth = ("new", "one")
    assert authorization(client.get("/").json()) == basic(b"new:one")
    client.auth = None
    assert client.auth is None
    assert authorization(client.get("/").json()) is None
    assert test_client_factory(echo).auth is None


async def test_send_adds_the_credentials_as_httpx_does() -> None:
    client = AsyncTestClient(echo, auth=("user", "pass"))
    request = client.build_request("GET", "/")
    assert "authorization" not in request.headers  # added when sent
    response = await client.send(request)
    assert authorization(response.json()) == basic(b"user:pass")
    response = await client.send(request, auth=("a", "b"))
    assert authorization(response.json()) == basic(b"a:b")
    response = await client.send(request, auth=None)
    assert authorization(response.json()) is None


def test_streams_and_sent_streams_take_auth(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(echo)
    with client.stream("GET", "/", auth=("a", "b")) as response:
        assert authorization(json.loads(response.read())) == basic(b"a:b")
    response = client.send(client.build_request("GET", "/"), stream=True, auth=("c", "d"))
    assert authorization(json.loads(response.read())) == basic(b"c:d")


async def test_async_streams_take_auth() -> None:
    client = AsyncTestClient(echo)
    async with client.stream("GET", "/", auth=("a", "b")) as response:
        assert authorization(json.loads(await response.aread())) == basic(b"a:b")
    request = client.build_request("GET", "/")
    response = await client.send(request, stream=True, auth=("c", "d"))
    assert authorization(json.loads(await response.aread())) == basic(b"c:d")


def test_websockets_take_auth(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(echo)
    with client.websocket_connect("/", auth=("a", "b")) as websocket:
        assert authorization(json.loads(websocket.receive_text())) == basic(b"a:b")
    client.auth = ("c", "d")
    with client.websocket_connect("/") as websocket:
        assert authorization(json.loads(websocket.receive_text())) == basic(b"c:d")


async def test_async_websockets_take_auth() -> None:
    client = AsyncTestClient(echo, auth=("c", "d"))
    async with client.websocket_connect("/", auth=("a", "b")) as websocket:
        assert authorization(json.loads(await websocket.receive_text())) == basic(b"a:b")
    async with client.websocket_connect("/", auth=None) as websocket:
        assert authorization(json.loads(await websocket.receive_text())) is None


async def test_credentials_in_the_url_are_used_without_auth() -> None:
    client = AsyncTestClient(echo)
    response = await client.get("http://us%40er:p%3Aw@testserver/")
    pairs = dict(response.json())
    assert pairs["host"] == "testserver"  # never the userinfo, as HTTPX
    assert pairs["authorization"] == basic(b"us@er:p:w")
    response = await client.get("http://user:pass@testserver/", auth=("a", "b"))
    assert authorization(response.json()) == basic(b"a:b")
    response = await client.get("http://user@testserver/")
    assert authorization(response.json()) == basic(b"user:")
    request = client.build_request("GET", "http://user:pass@testserver/")
    assert request.headers["host"] == "testserver"
    assert authorization((await client.send(request)).json()) == basic(b"user:pass")


def always_redirect(location: bytes) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/start":
            headers = [(b"location", location)]
            await send({"type": "http.response.start", "status": 307, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await echo(scope, receive, send)

    return app


async def test_credentials_follow_a_redirect_on_the_same_host_only() -> None:
    client = AsyncTestClient(always_redirect(b"/end"))
    response = await client.get("/start", auth=("a", "b"))
    assert authorization(response.json()) == basic(b"a:b")
    client = AsyncTestClient(always_redirect(b"http://elsewhere/end"))
    response = await client.get("/start", auth=("a", "b"))
    assert authorization(response.json()) is None


def test_auth_defaults_to_the_clients() -> None:
    default = inspect.signature(TestClient.get).parameters["auth"].default
    assert repr(default) == "USE_CLIENT_DEFAULT"  # as HTTPX spells it in signatures
    assert inspect.signature(AsyncTestClient.send).parameters["auth"].default is default


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(lambda request: request, id="callable"),
        pytest.param(["user", "pass"], id="list"),
        pytest.param(("user", "pass", "extra"), id="three"),
        pytest.param(("user", 1), id="number"),
    ],
)
def test_other_auth_values_are_refused_with_the_fix(
    test_client_factory: TestClientFactory, auth: Any
) -> None:
    client = test_client_factory(echo)
    with pytest.raises(TypeError, match=r"auth= takes a \(username, password\) tuple.*headers="):
        client.get("/", auth=auth)
    with pytest.raises(TypeError, match="HTTP Basic"):
        client.auth = auth
    with pytest.raises(TypeError, match="HTTP Basic"):
        test_client_factory(echo, auth=auth)
    with pytest.raises(TypeError, match="HTTP Basic"), client.websocket_connect("/", auth=auth):
        pass  # pragma: no cover
