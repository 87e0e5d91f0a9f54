"""Authentication: who the client is (a user) and what it may do (scopes).

``AuthenticationMiddleware`` (in ``microasgi.middleware.authentication``) asks an
``AuthenticationBackend`` for ``(AuthCredentials, BaseUser)`` on every http request and websocket
and places them in ``request.auth`` and ``request.user``. ``@requires("scope")`` guards an endpoint
with the scopes it needs: a function endpoint or an ``HTTPEndpoint`` method, sync or async, http or
websocket.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from typing_extensions import ParamSpec

from microasgi._asgi.concurrency import is_async_callable
from microasgi.exceptions import HTTPException
from microasgi.requests import HTTPConnection, Request
from microasgi.responses import RedirectResponse
from microasgi.websockets import WebSocket

__all__ = [
    "AuthCredentials",
    "AuthenticationBackend",
    "AuthenticationError",
    "BaseUser",
    "SimpleUser",
    "UnauthenticatedUser",
    "has_required_scope",
    "requires",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

# SPEC: RFC 6455 section 7.4.1, 1008 "policy violation": the generic "not allowed" close code.
_WS_POLICY_VIOLATION = 1008


class AuthenticationError(Exception):
    """Raised by a backend when the credentials a client sent are invalid (not merely absent).

    ``AuthenticationMiddleware`` answers it with ``on_error`` (by default a 400 with the message)
    and closes a websocket with 1008. Return ``None`` from the backend for a client that sent no
    credentials: it then continues as ``UnauthenticatedUser``.
    """


class AuthCredentials:
    """What the authenticated client may do: a list of scope names (``"authenticated"``, ...).

    Args:
        scopes: the scope names granted.
    """

    __slots__ = ("scopes",)

    def __init__(self, scopes: Iterable[str] | None = None) -> None:
        if isinstance(scopes, str):
            raise TypeError(
                f"AuthCredentials takes a list of scopes, got the string {scopes!r}. "
                f"Use AuthCredentials([{scopes!r}])."
            )
        self.scopes: list[str] = [] if scopes is None else list(scopes)

    def __repr__(self) -> str:
        return f"AuthCredentials({self.scopes!r})"


class BaseUser(ABC):
    """The user ``request.user`` holds: subclass it and define the properties below.

    ``is_authenticated`` and ``display_name`` are abstract (a subclass without them cannot be
    built); ``identity``, the user's unique id, raises ``AttributeError`` until it is defined.
    """

    @property
    @abstractmethod
    def is_authenticated(self) -> bool:
        """Whether the client proved who it is."""

    @property
    @abstractmethod
    def display_name(self) -> str:
        """A name to show for the user."""

    @property
    def identity(self) -> str:
        """A unique, stable id of the user (a user id, an email address).

        Raises:
            AttributeError: the subclass does not define it.
        """
        raise AttributeError(
            f"{type(self).__name__} does not define identity: override the identity property "
            "to return the user's unique id."
        )


class SimpleUser(BaseUser):
    """An authenticated user known by a username (its display name and identity).

    Args:
        username: the user's name.
    """

    def __init__(self, username: str) -> None:
        self.username = username

    @property
    def is_authenticated(self) -> bool:
        """Always ``True``."""
        return True

    @property
    def display_name(self) -> str:
        """The username."""
        return self.username

    @property
    def identity(self) -> str:
        """The username."""
        return self.username

    def __repr__(self) -> str:
        return f"SimpleUser({self.username!r})"


class UnauthenticatedUser(BaseUser):
    """The user of a client that sent no credentials: not authenticated, with empty names."""

    @property
    def is_authenticated(self) -> bool:
        """Always ``False``."""
        return False

    @property
    def display_name(self) -> str:
        """The empty string."""
        return ""

    @property
    def identity(self) -> str:
        """The empty string."""
        return ""

    def __repr__(self) -> str:
        return "UnauthenticatedUser()"


class AuthenticationBackend(ABC):
    """Turns a request's credentials into ``(AuthCredentials, BaseUser)``.

    Subclass it and define ``authenticate``; give an instance to ``AuthenticationMiddleware``.
    """

    @abstractmethod
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        """Authenticate the client of ``conn`` (a ``Request`` or ``WebSocket``'s connection).

        Returns:
            ``(credentials, user)`` for a client that proved who it is, or ``None`` for one that
            sent no credentials (it continues unauthenticated).

        Raises:
            AuthenticationError: the client sent credentials, and they are invalid.
        """


def _scope_list(scopes: str | Iterable[str]) -> list[str]:
    is_many = isinstance(scopes, Iterable) and not isinstance(scopes, str)
    items: list[object] = list(scopes) if is_many else [scopes]
    for item in items:
        if not isinstance(item, str):
            raise TypeError(
                f"Scopes must be strings, got {item!r} in {scopes!r}. "
                "For example: requires(['authenticated', 'admin'])."
            )
    return cast(list[str], items)


def has_required_scope(conn: HTTPConnection, scopes: str | Sequence[str]) -> bool:
    """Tell whether ``conn.auth`` grants every scope in ``scopes`` (one name or a list).

    Raises:
        RuntimeError: ``AuthenticationMiddleware`` is not installed.
    """
    granted = conn.auth.scopes
    return all(scope in granted for scope in ([scopes] if isinstance(scopes, str) else scopes))


def requires(
    scopes: str | Sequence[str],
    status_code: int = 403,
    redirect: str | None = None,
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Guard an endpoint with the scopes it needs.

    Decorates a function endpoint or an ``HTTPEndpoint`` method, sync or async, whose parameters
    include ``request`` (http) or ``websocket``. When the client lacks a scope, an http request is
    answered with ``HTTPException(status_code)`` or, with ``redirect``, a 303 to the route named
    ``redirect`` with the original URL in its ``next`` query parameter; a websocket is closed
    with 1008 (policy violation) before it is accepted (the server answers the handshake with
    403).

    Args:
        scopes: one scope name or a list of them, all required.
        status_code: the status of the refusal.
        redirect: the name of a route (a login page) to send the client to instead.

    Raises:
        TypeError: (at decoration) the function has no ``request`` or ``websocket`` parameter, a
            websocket endpoint is not ``async def``, or an argument has the wrong type.
        ValueError: ``status_code`` is not from 100 to 599.
    """
    scope_list = _scope_list(scopes)
    if not isinstance(status_code, int) or isinstance(status_code, bool):
        raise TypeError(f"requires() status_code must be an int, got {status_code!r}.")
    if not 100 <= status_code <= 599:
        raise ValueError(f"requires() status_code must be from 100 to 599, got {status_code!r}.")
    if redirect is not None and not isinstance(redirect, str):
        raise TypeError(f"requires() redirect must be a route name (str), got {redirect!r}.")

    def decorator(func: Callable[_P, _R]) -> Callable[_P, _R]:
        kind, index = _connection_parameter(func)
        if kind == "websocket":
            return cast(Callable[_P, _R], _guard_websocket(func, index, scope_list))
        refuse = functools.partial(_refuse, status_code, redirect)
        if is_async_callable(func):
            async_func = cast(Callable[..., Awaitable[Any]], func)

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                request = _argument(args, kwargs, index, "request", Request, func)
                if not has_required_scope(request, scope_list):
                    return refuse(request)
                return await async_func(*args, **kwargs)

            return cast(Callable[_P, _R], async_wrapper)

        @functools.wraps(func)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            request = _argument(args, kwargs, index, "request", Request, func)
            if not has_required_scope(request, scope_list):
                return refuse(request)
            return func(*args, **kwargs)

        return cast(Callable[_P, _R], sync_wrapper)

    return decorator


def _connection_parameter(func: Callable[..., Any]) -> tuple[str, int]:
    """Find the ``request`` or ``websocket`` parameter of ``func``: its name and position."""
    parameters = inspect.signature(func).parameters
    for index, name in enumerate(parameters):
        if name in ("request", "websocket"):
            return name, index
    raise TypeError(
        f"@requires needs a parameter named 'request' or 'websocket' on "
        f"{getattr(func, '__qualname__', func)!r}, to find the connection to check; its "
        f"parameters are {list(parameters)!r}. Name it: async def endpoint(request): ..."
    )


def _guard_websocket(
    func: Callable[..., Any], index: int, scope_list: list[str]
) -> Callable[..., Awaitable[Any]]:
    if not is_async_callable(func):
        raise TypeError(
            f"@requires on the websocket endpoint {getattr(func, '__qualname__', func)!r}: "
            "websocket endpoints must be 'async def'."
        )

    @functools.wraps(func)
    async def websocket_wrapper(*args: Any, **kwargs: Any) -> Any:
        websocket = _argument(args, kwargs, index, "websocket", WebSocket, func)
        if not has_required_scope(websocket, scope_list):
            await websocket.close(_WS_POLICY_VIOLATION)
            return None
        return await func(*args, **kwargs)

    return websocket_wrapper


_Conn = TypeVar("_Conn", Request, WebSocket)


def _argument(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    index: int,
    name: str,
    cls: type[_Conn],
    func: Callable[..., Any],
) -> _Conn:
    value = kwargs[name] if name in kwargs else args[index] if index < len(args) else None
    if not isinstance(value, cls):
        raise TypeError(
            f"@requires on {getattr(func, '__qualname__', func)!r} expected a {cls.__name__} "
            f"as {name!r}, got {value!r}."
        )
    return value


def _refuse(status_code: int, redirect: str | None, request: Request) -> RedirectResponse:
    """Answer a request without the scopes: raise ``status_code``, or redirect to log in."""
    if redirect is None:
        # SECURITY: the standard reason phrase only; which scopes are missing is not disclosed.
        raise HTTPException(status_code)
    url = f"{request.url_for(redirect)}?{urlencode({'next': str(request.url)})}"
    return RedirectResponse(url=url, status_code=303)
