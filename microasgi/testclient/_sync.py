"""``TestClient``: the synchronous client, run in an anyio blocking portal."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from types import TracebackType
from typing import Any, Literal, Self

import anyio.to_thread
from anyio.from_thread import BlockingPortal, start_blocking_portal

from microasgi.testclient._base import Files, _ClientBase
from microasgi.testclient._cookies import Cookies
from microasgi.testclient._core import Outgoing, check_timeout
from microasgi.testclient._request import (
    USE_CLIENT_DEFAULT,
    AuthTypes,
    Content,
    HeaderTypes,
    ParamTypes,
    TestRequest,
    UseClientDefault,
)
from microasgi.testclient._response import TestResponse
from microasgi.testclient._streams import StreamedResponse
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
        headers: headers to send with every request, over HTTPX's defaults (see ``headers``).
        follow_redirects: follow redirects by default.
        client: ``scope["client"]``.
        extensions: the ASGI extensions to advertise in ``scope["extensions"]``, replacing the
            defaults (``http.response.debug`` and ``http.response.trailers`` for HTTP,
            ``websocket.http.response`` for websockets).
        spec_version: ``scope["asgi"]["spec_version"]``; from ``"2.4"``, ``send`` after the client
            has gone raises ``OSError``, below it does nothing.
        lifespan_state: offer ``scope["state"]`` to lifespan and copy it into every request.
        max_redirects: how many redirects to follow before raising :class:`TooManyRedirects`.
        strict: check the app's messages against what the ASGI spec says, not only what real
            servers accept (the default).
        auth: a ``(username, password)`` sent as HTTP Basic credentials with every request, as
            HTTPX's ``auth=`` (see :attr:`auth`); a request's ``auth=`` overrides it.

    The positional arguments are Starlette's, in its order. An ASGI 2 app (a double callable,
    ``app(scope)`` returning ``instance(receive, send)``) is driven as well, detected as asgiref
    and Starlette detect it.

    Raises:
        ValueError: if ``base_url``, ``spec_version`` or ``backend`` is invalid.
        TypeError: if ``auth`` is not a ``(username, password)`` tuple.
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
        client: tuple[str, int] = ("testclient", 50000),
        *,
        extensions: Mapping[str, Mapping[str, Any]] | None = None,
        spec_version: str = "2.4",
        lifespan_state: bool = True,
        max_redirects: int = 20,
        strict: bool = False,
        auth: AuthTypes | None = None,
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
            strict,
            auth,
        )
        self.backend = backend
        self.backend_options = backend_options or {}
        self._portal: BlockingPortal | None = None
        self._stack = ExitStack()
        # Responses streaming from the app: what closes each (its portal too, outside a `with`
        # block), and what aborts it.
        self._open_streams: dict[ExitStack, Callable[[], None]] = {}

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
            stack.callback(self.close)  # responses left open are cancelled before the shutdown
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.__exit__(exc_type, exc, traceback)

    def close(self) -> None:
        """Close the responses still open from ``send(..., stream=True)``, as HTTPX's ``close()``.

        Each one's app is cancelled wherever it is, its background tasks included, as
        Starlette's transport does. The client stays usable; leaving a ``with`` block calls this
        before the lifespan shutdown.
        """
        with ExitStack() as closing:
            for stack, abort in list(self._open_streams.items()):
                closing.callback(stack.close)
                closing.callback(abort)  # runs first: cancel, then wait for the app

    def _open(
        self, out: Outgoing, follow_redirects: bool | None, limit: float | None
    ) -> tuple[StreamedResponse, ExitStack]:
        """Start ``out`` streaming; the stack returned closes it (and a per-request portal)."""
        stream = self._core.stream(out, follow_redirects=follow_redirects, limit=limit)
        with ExitStack() as stack:
            portal = stack.enter_context(self._portal_factory())
            response = stack.enter_context(portal.wrap_async_context_manager(stream))
            opened = stack.pop_all()
        self._open_streams[opened] = lambda: portal.call(response._abort)
        opened.callback(self._open_streams.pop, opened, None)
        response._portal = portal
        response._on_close = opened.close

        async def aclose() -> None:  # from an event loop: the blocking close runs in a thread
            await anyio.to_thread.run_sync(opened.close)

        response._on_aclose = aclose
        return response, opened

    def send(
        self,
        request: TestRequest,
        *,
        stream: bool = False,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
    ) -> TestResponse:
        """Send a request from :meth:`build_request`, as HTTPX's ``Client.send``.

        With ``stream=True`` the response comes back as soon as the app starts it; read it with
        ``iter_bytes()``/``read()`` and close it with ``response.close()`` (closing it before the
        end cancels the app; ``client.close()`` closes those left open).
        """
        out = self._outgoing(request, auth)
        if stream:
            return self._open(out, follow_redirects, None)[0]
        with self._portal_factory() as portal:
            return portal.call(
                lambda: self._core.send(out, follow_redirects=follow_redirects, limit=None)
            )

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
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a request and return the complete response.

        ``content`` is the raw body (bytes, text, or a sync/async iterable of chunks, streamed
        with ``more_body``); ``data`` a form (urlencoded, or multipart with ``files``); ``json``
        a JSON body. ``auth`` a ``(username, password)`` tuple sent as HTTP Basic credentials,
        as HTTPX sends them (None: none; by default the client's :attr:`auth`). ``timeout``
        bounds the whole request, in seconds.

        Raises:
            ASGIProtocolError: if the app breaks an ASGI rule.
            TooManyRedirects: past ``max_redirects``.
            TimeoutError: if the app takes longer than ``timeout``.
            TypeError: if ``auth`` is not a ``(username, password)`` tuple.
        """
        out = self._core.build(
            method, url, params=params, headers=headers, cookies=cookies,
            content=content, data=data, files=files, json=json,
        )  # fmt: skip
        out = self._core.authorize(out, auth)
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
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> Iterator[TestResponse]:
        """Send a request and yield the response as soon as it starts; read it with ``iter_bytes()``.

        The app produces each chunk only once the test has read the one before. Leaving the
        block (or ``response.close()``) before the end of the body cancels the app; after it,
        the client waits for the app to return (its background tasks).
        """
        out = self._core.build(
            method, url, params=params, headers=headers, cookies=cookies,
            content=content, data=data, files=files, json=json,
        )  # fmt: skip
        out = self._core.authorize(out, auth)
        response, opened = self._open(out, follow_redirects, check_timeout(timeout))
        with opened:
            yield response

    def get(
        self,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a ``GET`` request."""
        return self.request(
            "GET", url, params=params, headers=headers, cookies=cookies,
            auth=auth, follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    def head(
        self,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a ``HEAD`` request."""
        return self.request(
            "HEAD", url, params=params, headers=headers, cookies=cookies,
            auth=auth, follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    def options(
        self,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send an ``OPTIONS`` request."""
        return self.request(
            "OPTIONS", url, params=params, headers=headers, cookies=cookies,
            auth=auth, follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    def delete(
        self,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a ``DELETE`` request."""
        return self.request(
            "DELETE", url, params=params, headers=headers, cookies=cookies,
            auth=auth, follow_redirects=follow_redirects, timeout=timeout,
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
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a ``POST`` request."""
        return self.request(
            "POST", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, cookies=cookies, auth=auth, follow_redirects=follow_redirects,
            timeout=timeout,
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
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a ``PUT`` request."""
        return self.request(
            "PUT", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, cookies=cookies, auth=auth, follow_redirects=follow_redirects,
            timeout=timeout,
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
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
    ) -> TestResponse:
        """Send a ``PATCH`` request."""
        return self.request(
            "PATCH", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, cookies=cookies, auth=auth, follow_redirects=follow_redirects,
            timeout=timeout,
        )  # fmt: skip

    def websocket_connect(
        self,
        url: str,
        subprotocols: Sequence[str] | None = None,
        headers: HeaderTypes | None = None,
        *,
        params: ParamTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
    ) -> WebSocketTestSession:
        """Open a websocket to ``url``; use the session in a ``with`` block.

        Raises (on entering the block):
            WebSocketDisconnect: if the app closes the connection before accepting it.
            WebSocketDenialResponse: if the app answers with an HTTP response instead.
        """
        session = self._core.websocket(
            url, subprotocols=subprotocols, headers=headers, params=params, cookies=cookies,
            auth=auth,
        )  # fmt: skip
        factory: Callable[[], AbstractContextManager[BlockingPortal]] = self._portal_factory
        return WebSocketTestSession(session, factory)
