"""``HTTPConnection``: what an http request and a websocket connection have in common, a
read-only view of the scope (public in ``microasgi.requests``)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any, Generic, NoReturn, cast

from typing_extensions import TypeVar

from microasgi._sansio.cookies import parse_cookie_header
from microasgi._sansio.extensions import (
    TLSInfo,
    tls_info,
)
from microasgi.datastructures import URL, Address, Headers, QueryParams, State
from microasgi.types import Message, Receive, Scope


async def empty_receive() -> NoReturn:
    """The receive of a ``Request`` built without one: reading the body raises, saying why."""
    raise RuntimeError(
        "This Request was built without a receive channel, so it cannot read the body. "
        "Pass the ASGI receive callable: Request(scope, receive)."
    )


async def empty_send(message: Message) -> NoReturn:
    """The send of a ``Request`` built without one: sending raises, saying why."""
    # Starlette's text first (ported tests match it), then why and the fix.
    raise RuntimeError(
        "Send channel has not been made available: this Request was built without a send "
        f"channel, so it cannot send {message.get('type')!r}. Pass the ASGI send callable: "
        "Request(scope, receive, send)."
    )


def _missing_middleware(attribute: str, middleware: str, example: str) -> RuntimeError:
    return RuntimeError(
        f"request.{attribute} needs {middleware}: add Middleware({example}) to the application's "
        f"middleware (from microasgi.middleware import Middleware)."
    )


StateT = TypeVar("StateT", bound=Mapping[str, Any] | State, default=State)
"""The type of ``request.state``: ``Request[MyState]`` types it as the lifespan's state (a
``TypedDict`` it yields, say), as in Starlette 1.x. At run time it is always a ``State``, which is
a mapping and an attribute bag."""


class HTTPConnection(Mapping[str, Any], Generic[StateT]):
    """What an http request and a websocket connection have in common: a read-only view of the scope.

    It is a ``Mapping`` over the scope (``connection["path"]``); equality and hashing are by
    identity, as in Starlette. Every property is computed when first read and then cached.

    Args:
        scope: an ASGI ``http`` or ``websocket`` scope.
        receive: the ASGI receive callable.

    Raises:
        ValueError: the scope is of another type (``lifespan``, or not a scope).
    """

    # PERF: slots, with every cache set to None up front. Measured on CPython 3.11: building a
    # Request costs ~0.33 us; building one and reading a property ~0.5 us, against ~1.1 us with
    # functools.cached_property and ~1.6 us with slots left unset (an AttributeError per first
    # read). "__dict__" keeps Starlette's freedom to set ad hoc attributes on a request; its
    # dict is only allocated if one is set.
    __slots__ = (
        "__dict__",
        "_base_url",
        "_cookies",
        "_headers",
        "_query_params",
        "_receive",
        "_scope",
        "_state",
        "_url",
    )

    def __init__(self, scope: Scope, receive: Receive | None = None) -> None:
        if scope.get("type") not in ("http", "websocket"):
            raise ValueError(
                f"{type(self).__name__} needs an 'http' or 'websocket' scope, got scope type "
                f"{scope.get('type')!r}."
            )
        self._scope = scope
        self._receive: Receive = empty_receive if receive is None else receive
        self._url: URL | None = None
        self._base_url: URL | None = None
        self._headers: Headers | None = None
        self._query_params: QueryParams | None = None
        self._cookies: dict[str, str] | None = None
        self._state: State | None = None

    def __getitem__(self, key: str) -> Any:
        return self._scope[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._scope)

    def __len__(self) -> int:
        return len(self._scope)

    # Mapping would compare scopes item by item and make connections unhashable; Starlette
    # compares connections by identity, and so do we.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def scope(self) -> Scope:
        """The ASGI scope."""
        return self._scope

    @property
    def app(self) -> Any:
        """The application serving the request (``scope["app"]``)."""
        return self._scope["app"]

    @property
    def url(self) -> URL:
        """The full URL of the request, from the ``Host`` header (else the server address)."""
        if self._url is None:
            self._url = URL(scope=self._scope)
        return self._url

    @property
    def base_url(self) -> URL:
        """The URL of the application's root: the request URL with the path set to the root
        path (``scope["app_root_path"]``, else ``scope["root_path"]``) ending in ``/``, and no
        query string."""
        if self._base_url is None:
            root = self._scope.get("app_root_path", self._scope.get("root_path", ""))
            path = root if root.endswith("/") else root + "/"
            base_scope = {**self._scope, "path": path, "query_string": b"", "root_path": root}
            base_scope.pop("raw_path", None)
            self._base_url = URL(scope=base_scope)
        return self._base_url

    @property
    def headers(self) -> Headers:
        """The request headers: case-insensitive, multi-valued, decoded as latin-1."""
        if self._headers is None:
            self._headers = Headers(scope=self._scope)
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        """The query string parameters (``&``-separated, blank values kept)."""
        if self._query_params is None:
            self._query_params = QueryParams(self._scope.get("query_string", b""))
        return self._query_params

    @property
    def path_params(self) -> dict[str, Any]:
        """The parameters the router matched in the path, converted (``{"id": 3}``)."""
        params: dict[str, Any] = self._scope.get("path_params", {})
        return params

    @property
    def cookies(self) -> dict[str, str]:
        """The request cookies.

        Every ``cookie`` header is read (HTTP/2 sends one per cookie), in order; when a name
        repeats the last one wins. A malformed pair is skipped alone; its neighbours are kept.
        """
        if self._cookies is None:
            # PERF: straight from the raw header list; no Headers object needed for this.
            values = [value for name, value in self._scope["headers"] if name == b"cookie"]
            if values:
                self._cookies = parse_cookie_header(b"; ".join(values).decode("latin-1"))
            else:
                self._cookies = {}
        return self._cookies

    # Cached in the instance dict (allocated only for connections that read it): rarely read.
    @functools.cached_property
    def tls(self) -> TLSInfo | None:
        """The TLS details of the connection (certificates, version, cipher), from the ``tls``
        extension; ``None`` on a plain connection or when the server does not offer the
        extension (see the extensions page for which servers do)."""
        return tls_info(self._scope)

    @property
    def client(self) -> Address | None:
        """The client's ``Address(host, port)``, or ``None`` when the server does not say."""
        client = self._scope.get("client")
        return None if client is None else Address(*client)

    @property
    def state(self) -> StateT:
        """Per-request state, over ``scope["state"]``.

        The server copies the lifespan state into each request's ``scope["state"]``, so what the
        lifespan yielded is readable here (``request.state.db`` or ``request.state["db"]``);
        what is set here lands in the scope, where later middleware and the endpoint see it.
        Its static type is the connection's type parameter: ``Request[AppState]``.
        """
        if self._state is None:
            self._state = State(self._scope.setdefault("state", {}))
        return cast(StateT, self._state)

    @property
    def session(self) -> dict[str, Any]:
        """The session dict that ``SessionMiddleware`` put in the scope.

        Raises:
            RuntimeError: ``SessionMiddleware`` is not installed.
        """
        if "session" not in self._scope:
            raise _missing_middleware(
                "session", "SessionMiddleware", "SessionMiddleware, secret_key=..."
            )
        session: dict[str, Any] = self._scope["session"]
        return session

    @property
    def auth(self) -> Any:
        """The credentials that ``AuthenticationMiddleware`` put in the scope.

        Raises:
            RuntimeError: ``AuthenticationMiddleware`` is not installed.
        """
        if "auth" not in self._scope:
            raise _missing_middleware(
                "auth", "AuthenticationMiddleware", "AuthenticationMiddleware, backend=..."
            )
        return self._scope["auth"]

    @property
    def user(self) -> Any:
        """The user that ``AuthenticationMiddleware`` put in the scope.

        Raises:
            RuntimeError: ``AuthenticationMiddleware`` is not installed.
        """
        if "user" not in self._scope:
            raise _missing_middleware(
                "user", "AuthenticationMiddleware", "AuthenticationMiddleware, backend=..."
            )
        return self._scope["user"]

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        """Return the absolute URL of the route called ``name``, under ``base_url``.

        Args:
            name: the route name, with mount names joined by ``:`` (``"api:user"``).
            **path_params: the values of the route's path parameters.

        Raises:
            RuntimeError: neither a router nor an application is in the scope.
        """
        provider = self._scope.get("router") or self._scope.get("app")
        if provider is None:
            # Starlette's text first (ported tests match it), then the fix.
            raise RuntimeError(
                "The `url_for` method can only be used inside a MicroASGI application or with a "
                f"router: url_for({name!r}) found neither in the scope. Call it on a request "
                "served by a MicroASGI application or a Router, which set scope['router']."
            )
        url_path = provider.url_path_for(name, **path_params)
        url: URL = url_path.make_absolute_url(base_url=self.base_url)
        return url
