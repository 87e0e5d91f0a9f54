"""microasgi.authentication: users, credentials, backends, has_required_scope and @requires."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from microasgi.applications import MicroASGI
from microasgi.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    SimpleUser,
    UnauthenticatedUser,
    has_required_scope,
    requires,
)
from microasgi.endpoints import HTTPEndpoint, WebSocketEndpoint
from microasgi.middleware import Middleware
from microasgi.middleware.authentication import AuthenticationMiddleware
from microasgi.requests import HTTPConnection, Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.websockets import WebSocket, WebSocketDisconnect

TOKENS = {"admin": ["authenticated", "admin"], "user": ["authenticated"]}


class TokenBackend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        token = conn.query_params.get("token")
        if token is None:
            return None
        if token not in TOKENS:
            raise AuthenticationError("Unknown token.")
        return AuthCredentials(TOKENS[token]), SimpleUser(token)


# --- users and credentials ----------------------------------------------------------------------


def test_auth_credentials() -> None:
    assert AuthCredentials().scopes == []
    scopes = ("a", "b")
    credentials = AuthCredentials(scopes)
    assert credentials.scopes == ["a", "b"]
    assert repr(credentials) == "AuthCredentials(['a', 'b'])"


def test_auth_credentials_refuses_a_bare_string() -> None:
    with pytest.raises(TypeError, match=r"Use AuthCredentials\(\['admin'\]\)"):
        AuthCredentials("admin")


def test_simple_user() -> None:
    user = SimpleUser("ada")
    assert (user.is_authenticated, user.display_name, user.identity) == (True, "ada", "ada")
    assert repr(user) == "SimpleUser('ada')"


def test_unauthenticated_user() -> None:
    user = UnauthenticatedUser()
    assert (user.is_authenticated, user.display_name, user.identity) == (False, "", "")
    assert repr(user) == "UnauthenticatedUser()"


def test_base_user_needs_is_authenticated_and_display_name() -> None:
    class Incomplete(BaseUser):
        @property
        def is_authenticated(self) -> bool:
            return True

    with pytest.raises(TypeError, match="display_name"):
        Incomplete()  # type: ignore[abstract]


def test_base_user_identity_says_how_to_define_it() -> None:
    class Named(BaseUser):
        is_authenticated = True
        display_name = "Ada"

    user = Named()
    with pytest.raises(AttributeError, match="Named does not define identity"):
        _ = user.identity
    assert getattr(user, "identity", None) is None


def test_backend_is_abstract() -> None:
    with pytest.raises(TypeError, match="authenticate"):
        AuthenticationBackend()  # type: ignore[abstract]


# --- has_required_scope -------------------------------------------------------------------------


def _conn(scopes: list[str]) -> HTTPConnection:
    scope = {"type": "http", "headers": [], "auth": AuthCredentials(scopes)}
    return HTTPConnection(scope)


@pytest.mark.parametrize(
    ("granted", "required", "expected"),
    [
        (["a", "b"], ["a"], True),
        (["a", "b"], ["a", "b"], True),
        (["a", "b"], "b", True),
        (["a"], ["a", "b"], False),
        (["ab"], "a", False),  # one name, never its characters
        ([], [], True),
        ([], ["a"], False),
    ],
)
def test_has_required_scope(granted: list[str], required: Any, expected: bool) -> None:
    assert has_required_scope(_conn(granted), required) is expected


def test_has_required_scope_without_the_middleware() -> None:
    with pytest.raises(RuntimeError, match="AuthenticationMiddleware"):
        has_required_scope(HTTPConnection({"type": "http", "headers": []}), ["a"])


# --- @requires on every kind of endpoint --------------------------------------------------------


@requires("authenticated")
async def async_page(request: Request) -> Response:
    return PlainTextResponse(f"async {request.user.display_name}")


@requires("authenticated")
def sync_page(request: Request) -> Response:
    return PlainTextResponse(f"sync {request.user.display_name}")


@requires(["authenticated", "admin"], status_code=404)
async def admin_page(request: Request) -> Response:
    return PlainTextResponse("admin")


@requires("admin", redirect="login")
def redirecting_page(request: Request) -> Response:
    return PlainTextResponse("admin")


class Dashboard(HTTPEndpoint):
    @requires("authenticated")
    async def get(self, request: Request) -> Response:
        return PlainTextResponse(f"get {request.user.display_name}")

    @requires("admin", redirect="login")
    def post(self, request: Request) -> Response:
        return PlainTextResponse("post")


async def login(request: Request) -> Response:
    return PlainTextResponse(f"login, then {request.query_params['next']}")


@requires("authenticated")
async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(f"hello {websocket.user.display_name}")
    await websocket.close()


class Chat(WebSocketEndpoint):
    encoding = "text"

    @requires("admin")
    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        await websocket.send_text(f"echo {data}")


def make_app() -> MicroASGI:
    return MicroASGI(
        routes=[
            Route("/async", async_page),
            Route("/sync", sync_page),
            Route("/admin", admin_page),
            Route("/redirect", redirecting_page),
            Route("/dashboard", Dashboard, methods=["GET", "POST"]),
            Route("/login", login),
            WebSocketRoute("/ws", chat),
            WebSocketRoute("/chat", Chat),
        ],
        middleware=[Middleware(AuthenticationMiddleware, backend=TokenBackend())],
    )


@pytest.mark.parametrize(
    ("method", "path", "token", "status", "text"),
    [
        ("GET", "/async", "user", 200, "async user"),
        ("GET", "/async", None, 403, "Forbidden"),
        ("GET", "/sync", "user", 200, "sync user"),
        ("GET", "/sync", None, 403, "Forbidden"),
        ("GET", "/admin", "admin", 200, "admin"),
        ("GET", "/admin", "user", 404, "Not Found"),
        ("GET", "/redirect", "admin", 200, "admin"),
        ("GET", "/dashboard", "user", 200, "get user"),
        ("GET", "/dashboard", None, 403, "Forbidden"),
        ("POST", "/dashboard", "admin", 200, "post"),
    ],
)
async def test_requires(method: str, path: str, token: str | None, status: int, text: str) -> None:
    params = {} if token is None else {"token": token}
    response = await AsyncTestClient(make_app()).request(method, path, params=params)
    assert (response.status_code, response.text) == (status, text)


@pytest.mark.parametrize(("method", "path"), [("GET", "/redirect"), ("POST", "/dashboard")])
async def test_requires_redirects_to_the_named_route_with_next(method: str, path: str) -> None:
    client = AsyncTestClient(make_app(), follow_redirects=False)
    response = await client.request(method, path, params={"token": "user", "page": "2"})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "testserver", "/login")
    assert parse_qs(location.query) == {"next": [f"http://testserver{path}?token=user&page=2"]}
    followed = await client.get(response.headers["location"])
    assert followed.text == f"login, then http://testserver{path}?token=user&page=2"


async def test_requires_on_a_websocket_accepts_with_the_scope() -> None:
    client = AsyncTestClient(make_app())
    async with client.websocket_connect("/ws?token=user") as session:
        assert await session.receive_text() == "hello user"


async def test_requires_on_a_websocket_closes_with_1008_before_accept() -> None:
    client = AsyncTestClient(make_app())
    with pytest.raises(WebSocketDisconnect) as closed:
        async with client.websocket_connect("/ws"):
            pytest.fail("the handshake should have been refused")  # pragma: no cover
    assert closed.value.code == 1008


async def test_requires_on_a_websocket_endpoint_on_connect() -> None:
    client = AsyncTestClient(make_app())
    async with client.websocket_connect("/chat?token=admin") as session:
        await session.send_text("hi")
        assert await session.receive_text() == "echo hi"
    with pytest.raises(WebSocketDisconnect) as closed:
        async with client.websocket_connect("/chat?token=user"):
            pytest.fail("the handshake should have been refused")  # pragma: no cover
    assert closed.value.code == 1008


async def test_the_wrapper_keeps_the_name_and_takes_keyword_arguments() -> None:
    assert async_page.__name__ == "async_page"
    assert sync_page.__wrapped__.__name__ == "sync_page"  # type: ignore[attr-defined]
    scope = {"type": "http", "headers": [], "auth": AuthCredentials(["authenticated"])}
    scope["user"] = SimpleUser("kw")
    response = await async_page(request=Request(scope))
    assert response.body == b"async kw"


async def test_the_connection_parameter_may_come_later() -> None:
    @requires("a")
    async def endpoint(prefix: str, request: Request) -> str:
        return prefix + "ok"

    granted = Request({"type": "http", "headers": [], "auth": AuthCredentials(["a"])})
    assert await endpoint("is ", granted) == "is ok"
    assert await endpoint("is ", request=granted) == "is ok"


@pytest.mark.parametrize(
    "call",
    [
        lambda endpoint: endpoint(),
        lambda endpoint: endpoint("not a request"),
        lambda endpoint: endpoint(request=None),
    ],
)
def test_the_wrapper_checks_its_argument(call: Any) -> None:
    @requires("a")
    def endpoint(request: Request) -> str:
        return "unreachable"  # pragma: no cover

    with pytest.raises(TypeError, match="expected a Request as 'request'"):
        call(endpoint)


async def test_the_websocket_wrapper_checks_its_argument() -> None:
    with pytest.raises(TypeError, match="expected a WebSocket as 'websocket'"):
        await chat(Request({"type": "http", "headers": []}))  # type: ignore[arg-type]


def _no_connection(x: int) -> None: ...


def _sync_websocket(websocket: WebSocket) -> None: ...


@pytest.mark.parametrize(
    ("args", "func", "error", "match"),
    [
        (("a",), _no_connection, TypeError, r"needs a parameter named 'request' or 'websocket'"),
        (("a",), _sync_websocket, TypeError, "websocket endpoints must be 'async def'"),
        ((42,), None, TypeError, "Scopes must be strings"),
        (([1],), None, TypeError, "Scopes must be strings"),
        (("a", "403"), None, TypeError, "status_code must be an int"),
        (("a", True), None, TypeError, "status_code must be an int"),
        (("a", 99), None, ValueError, "status_code must be from 100 to 599"),
        (("a", 600), None, ValueError, "status_code must be from 100 to 599"),
        (("a", 403, 42), None, TypeError, "redirect must be a route name"),
    ],
)
def test_requires_errors_at_decoration(
    args: tuple[Any, ...], func: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        requires(*args)(func)
