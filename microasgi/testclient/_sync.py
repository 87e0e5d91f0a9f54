"""``TestClient``: the synchronous client, run in an anyio blocking portal."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from types import TracebackType
from typing import Any, Literal, Self

from anyio.from_thread import BlockingPortal, start_blocking_portal

from microasgi.testclient._base import Files, _ClientBase
from microasgi.testclient._cookies import Cookies
from microasgi.testclient._core import check_timeout
from microasgi.testclient._request import Content, HeaderTypes, ParamTypes
from microasgi.testclient._response import (
    TestResponse,
)
from microasgi.testclient._websocket import WebSocketTestSession
from microasgi.types import ASGIApp


class TestClient(_ClientBase):
    """A synchronous test client, compatible with Starlette's ``TestClient``.

    The app runs in an anyio event loop in a helper thread (a blocking portal): one per request,
    or one for a whole ``with TestClient(app) as client:`` block, which also runs the app's
    lifespan (startup on entry, shutdown on exit; an app that does not support lifespan is
    tolerated, as servers do).

    Args:
        app: the ASGI app under test.
        base_url: the URL relative request URLs resolve against.
        raise_server_exceptions: re-raise an exception from the app in the test (True), or answer
            500 as a server would (False).
        root_path: ``scope["root_path"]``, for an app served under a prefix.
        backend: ``"asyncio"`` or ``"trio"``.
        backend_options: options for ``anyio.run`` (for example ``{"use_uvloop": True}``).
        cookies: cookies to send with every request.
        headers: headers to send with every request.
        follow_redirects: follow redirects by default.
        extensions: the ASGI extensions to advertise in ``scope["extensions"]``, replacing the
            defaults (``http.response.debug`` for HTTP, ``websocket.http.response`` for websockets).
        spec_version: ``scope["asgi"]["spec_version"]``; from ``"2.4"``, ``send`` after the client
            has gone raises ``OSError``, below it does nothing.
        lifespan_state: offer ``scope["state"]`` to lifespan and copy it into every request.
        max_redirects: how many redirects to follow before raising :class:`TooManyRedirects`.
        client: ``scope["client"]``.

    Raises:
        ValueError: if ``base_url``, ``spec_version`` or ``backend`` is invalid.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        backend: Literal["asyncio", "trio"] = "asyncio",
        backend_options: dict[str, Any] | None = None,
        cookies: Mapping[str, str] | Cookies | None = None,
        headers: HeaderTypes | None = None,
        follow_redirects: bool = True,
        *,
        extensions: Mapping[str, Mapping[str, Any]] | None = None,
        spec_version: str = "2.4",
        lifespan_state: bool = True,
        max_redirects: int = 20,
        client: tuple[str, int] = ("testclient", 50000),
    ) -> None:
        if backend not in ("asyncio", "trio"):
            raise ValueError(f'backend must be "asyncio" or "trio", got {backend!r}.')
        super().__init__(
            app,
            base_url,
            raise_server_exceptions,
            root_path,
            cookies,
            headers,
            follow_redirects,
            extensions,
            spec_version,
            lifespan_state,
            max_redirects,
            client,
        )
        self.backend = backend
        self.backend_options = backend_options or {}
        self._portal: BlockingPortal | None = None
        self._stack = ExitStack()

    @contextmanager
    def _portal_factory(self) -> Iterator[BlockingPortal]:
        if self._portal is not None:
            yield self._portal
        else:
            with start_blocking_portal(self.backend, self.backend_options) as portal:
                yield portal

    def __enter__(self) -> Self:
        with ExitStack() as stack:
            self._portal = portal = stack.enter_context(
                start_blocking_portal(self.backend, self.backend_options)
            )
            stack.callback(setattr, self, "_portal", None)
            stack.enter_context(portal.wrap_async_context_manager(self._core.lifespan()))
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.__exit__(exc_type, exc, traceback)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        content: Content | None = None,
        data: Mapping[str, Any] | None = None,
        files: Files | None = None,
        json: Any = None,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a request and return the complete response.

        ``content`` is the raw body (bytes, text, or a sync/async iterable of chunks, streamed
        with ``more_body``); ``data`` a form (urlencoded, or multipart with ``files``); ``json``
        a JSON body. ``timeout`` bounds the whole request, in seconds.

        Raises:
            ASGIProtocolError: if the app breaks an ASGI rule.
            TooManyRedirects: past ``max_redirects``.
            TimeoutError: if the app takes longer than ``timeout``.
        """
        out = self._core.build(
            method, url, params=params, headers=headers, cookies=cookies,
            content=content, data=data, files=files, json=json,
        )  # fmt: skip
        limit = check_timeout(timeout)
        with self._portal_factory() as portal:
            return portal.call(
                lambda: self._core.send(out, follow_redirects=follow_redirects, limit=limit)
            )

    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        content: Content | None = None,
        data: Mapping[str, Any] | None = None,
        files: Files | None = None,
        json: Any = None,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> Iterator[TestResponse]:
        """Send a request and yield the response as soon as it starts; read it with ``iter_bytes()``.

        The app keeps running while the block reads; leaving the block early disconnects the
        client (the app's ``receive`` returns ``http.disconnect``) and stops the app.
        """
        out = self._core.build(
            method, url, params=params, headers=headers, cookies=cookies,
            content=content, data=data, files=files, json=json,
        )  # fmt: skip
        limit = check_timeout(timeout)
        stream = self._core.stream(out, follow_redirects=follow_redirects, limit=limit)
        with (
            self._portal_factory() as portal,
            portal.wrap_async_context_manager(stream) as response,
        ):
            response._portal = portal
            yield response

    def get(
        self,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a ``GET`` request."""
        return self.request(
            "GET", url, params=params, headers=headers, cookies=cookies,
            follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    def head(
        self,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a ``HEAD`` request."""
        return self.request(
            "HEAD", url, params=params, headers=headers, cookies=cookies,
            follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    def options(
        self,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send an ``OPTIONS`` request."""
        return self.request(
            "OPTIONS", url, params=params, headers=headers, cookies=cookies,
            follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    def delete(
        self,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a ``DELETE`` request."""
        return self.request(
            "DELETE", url, params=params, headers=headers, cookies=cookies,
            follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    def post(
        self,
        url: str,
        *,
        content: Content | None = None,
        data: Mapping[str, Any] | None = None,
        files: Files | None = None,
        json: Any = None,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a ``POST`` request."""
        return self.request(
            "POST", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, cookies=cookies, follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    def put(
        self,
        url: str,
        *,
        content: Content | None = None,
        data: Mapping[str, Any] | None = None,
        files: Files | None = None,
        json: Any = None,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a ``PUT`` request."""
        return self.request(
            "PUT", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, cookies=cookies, follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    def patch(
        self,
        url: str,
        *,
        content: Content | None = None,
        data: Mapping[str, Any] | None = None,
        files: Files | None = None,
        json: Any = None,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a ``PATCH`` request."""
        return self.request(
            "PATCH", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, cookies=cookies, follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    def websocket_connect(
        self,
        url: str,
        subprotocols: Sequence[str] | None = None,
        headers: HeaderTypes | None = None,
        *,
        params: ParamTypes | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> WebSocketTestSession:
        """Open a websocket to ``url``; use the session in a ``with`` block.

        Raises (on entering the block):
            WebSocketDisconnect: if the app closes the connection before accepting it.
            WebSocketDenialResponse: if the app answers with an HTTP response instead.
        """
        session = self._core.websocket(
            url, subprotocols=subprotocols, headers=headers, params=params, cookies=cookies
        )
        factory: Callable[[], AbstractContextManager[BlockingPortal]] = self._portal_factory
        return WebSocketTestSession(session, factory)
