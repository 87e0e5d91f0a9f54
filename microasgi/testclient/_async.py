"""``AsyncTestClient``: the client awaited in the test's own event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import Any, Self

from microasgi.testclient._base import Files, _ClientBase
from microasgi.testclient._cookies import Cookies
from microasgi.testclient._core import check_timeout
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
from microasgi.testclient._streams import HeldStream
from microasgi.testclient._websocket import AsyncWebSocketTestSession
from microasgi.types import ASGIApp


class AsyncTestClient(_ClientBase):
    """An async test client with the surface of :class:`TestClient`, awaited.

    It runs the app in the current event loop (whichever backend the test runs on), without a
    thread; ``async with AsyncTestClient(app) as client:`` runs the app's lifespan around the
    block. ``client.stream(...)`` streams truly: the test reads each chunk while the app is still
    producing the next.

    Takes the arguments of :class:`TestClient` except ``backend`` and ``backend_options``.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
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
        self._stack = AsyncExitStack()
        self._open_streams: set[HeldStream] = set()

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(self._core.lifespan())
            stack.push_async_callback(self.aclose)  # open responses end before the shutdown
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, traceback)

    async def aclose(self) -> None:
        """Close the responses still open from ``send(..., stream=True)``, as HTTPX's ``aclose()``.

        Each one's app is cancelled wherever it is, its background tasks included, as
        Starlette's client does. The client stays usable; leaving the ``async with`` block calls
        this before the lifespan shutdown.
        """
        async with AsyncExitStack() as closing:
            for held in list(self._open_streams):
                closing.push_async_callback(held.abort)

    async def send(
        self,
        request: TestRequest,
        *,
        stream: bool = False,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
    ) -> TestResponse:
        """Send a request from :meth:`build_request`, as HTTPX's ``AsyncClient.send``.

        With ``stream=True`` inside ``async with AsyncTestClient(app)``, the response comes back
        as soon as the app starts it and streams; close it with ``await response.aclose()``
        (``client.aclose()`` and leaving the block close those left open). Outside the block
        there is no task to run the app beside the test, so the body is read first, as HTTPX's
        ``ASGITransport`` does.
        """
        out = self._outgoing(request, auth)
        group = self._core.group
        if not stream or group is None:
            return await self._core.send(out, follow_redirects=follow_redirects, limit=None)
        held = HeldStream(self._core.stream(out, follow_redirects=follow_redirects, limit=None))
        response = await held.open(group)
        self._open_streams.add(held)

        async def aclose() -> None:
            self._open_streams.discard(held)
            await held.aclose()

        response._on_aclose = aclose
        return response

    async def request(
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
        timeout: float | None = None,  # noqa: ASYNC109 - HTTPX's API
    ) -> TestResponse:
        """Send a request and return the complete response (see :meth:`TestClient.request`)."""
        out = self._core.build(
            method, url, params=params, headers=headers, cookies=cookies,
            content=content, data=data, files=files, json=json,
        )  # fmt: skip
        out = self._core.authorize(out, auth)
        limit = check_timeout(timeout)
        return await self._core.send(out, follow_redirects=follow_redirects, limit=limit)

    @asynccontextmanager
    async def stream(
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
        timeout: float | None = None,  # noqa: ASYNC109 - HTTPX's API
    ) -> AsyncIterator[TestResponse]:
        """Send a request and yield the response as soon as it starts; read it with ``aiter_bytes()``.

        As :meth:`TestClient.stream`: leaving the block (or ``await response.aclose()``) before
        the end of the body cancels the app.
        """
        out = self._core.build(
            method, url, params=params, headers=headers, cookies=cookies,
            content=content, data=data, files=files, json=json,
        )  # fmt: skip
        out = self._core.authorize(out, auth)
        limit = check_timeout(timeout)
        async with self._core.stream(
            out, follow_redirects=follow_redirects, limit=limit
        ) as response:
            yield response

    async def get(
        self,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - HTTPX's API
    ) -> TestResponse:
        """Send a ``GET`` request."""
        return await self.request(
            "GET", url, params=params, headers=headers, cookies=cookies,
            auth=auth, follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    async def head(
        self,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - HTTPX's API
    ) -> TestResponse:
        """Send a ``HEAD`` request."""
        return await self.request(
            "HEAD", url, params=params, headers=headers, cookies=cookies,
            auth=auth, follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    async def options(
        self,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - HTTPX's API
    ) -> TestResponse:
        """Send an ``OPTIONS`` request."""
        return await self.request(
            "OPTIONS", url, params=params, headers=headers, cookies=cookies,
            auth=auth, follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    async def delete(
        self,
        url: str,
        *,
        params: ParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: Mapping[str, str] | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - HTTPX's API
    ) -> TestResponse:
        """Send a ``DELETE`` request."""
        return await self.request(
            "DELETE", url, params=params, headers=headers, cookies=cookies,
            auth=auth, follow_redirects=follow_redirects, timeout=timeout,
        )  # fmt: skip

    async def post(
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
        timeout: float | None = None,  # noqa: ASYNC109 - HTTPX's API
    ) -> TestResponse:
        """Send a ``POST`` request."""
        return await self.request(
            "POST", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, cookies=cookies, auth=auth, follow_redirects=follow_redirects,
            timeout=timeout,
        )  # fmt: skip

    async def put(
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
        timeout: float | None = None,  # noqa: ASYNC109 - HTTPX's API
    ) -> TestResponse:
        """Send a ``PUT`` request."""
        return await self.request(
            "PUT", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, cookies=cookies, auth=auth, follow_redirects=follow_redirects,
            timeout=timeout,
        )  # fmt: skip

    async def patch(
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
        timeout: float | None = None,  # noqa: ASYNC109 - HTTPX's API
    ) -> TestResponse:
        """Send a ``PATCH`` request."""
        return await self.request(
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
    ) -> AsyncWebSocketTestSession:
        """Open a websocket to ``url``; use the session in an ``async with`` block."""
        return self._core.websocket(
            url, subprotocols=subprotocols, headers=headers, params=params, cookies=cookies,
            auth=auth,
        )  # fmt: skip
