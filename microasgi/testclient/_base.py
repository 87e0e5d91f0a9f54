"""What both test clients share: their configuration, the cookie jar, building requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from microasgi.datastructures import MutableHeaders
from microasgi.testclient._cookies import Cookies
from microasgi.testclient._core import ClientCore, Outgoing, default_headers
from microasgi.testclient._http import RequestBody
from microasgi.testclient._request import (
    AuthTypes,
    Content,
    FileTypes,
    HeaderTypes,
    ParamTypes,
    TestRequest,
    UseClientDefault,
    check_auth,
)
from microasgi.types import ASGIApp

Files = Mapping[str, FileTypes] | Sequence[tuple[str, FileTypes]]


class _ClientBase:
    """What both clients share: configuration, the cookie jar, ``build_request``."""

    def __init__(
        self,
        app: ASGIApp,
        base_url: str,
        raise_server_exceptions: bool,
        root_path: str,
        cookies: Mapping[str, str] | Cookies | None,
        headers: HeaderTypes | None,
        follow_redirects: bool,
        extensions: Mapping[str, Mapping[str, Any]] | None,
        spec_version: str,
        lifespan_state: bool,
        max_redirects: int,
        client: tuple[str, int],
        strict: bool = False,
        auth: AuthTypes | None = None,
    ) -> None:
        self._app = app
        self._core = ClientCore(
            app,
            base_url=base_url,
            raise_server_exceptions=raise_server_exceptions,
            root_path=root_path,
            cookies=cookies,
            headers=headers,
            follow_redirects=follow_redirects,
            extensions=extensions,
            spec_version=spec_version,
            lifespan_state=lifespan_state,
            max_redirects=max_redirects,
            client=client,
            strict=strict,
            auth=auth,
        )
        # Bodies of built requests that TestRequest cannot hold (iterators), until sent.
        self._bodies: dict[int, tuple[TestRequest, RequestBody]] = {}

    @property
    def app(self) -> ASGIApp:
        """The app under test, as given."""
        return self._app

    @property
    def base_url(self) -> str:
        """The URL relative request URLs are resolved against."""
        return self._core.base_url

    @property
    def strict(self) -> bool:
        """Whether the app's messages are checked against the spec's rules (``strict=True``)."""
        return self._core.strict

    @property
    def headers(self) -> MutableHeaders:
        """Headers sent with every request, HTTPX's defaults included; change them in place.

        ``accept: */*``, ``accept-encoding`` (``gzip, deflate``, plus ``br``/``zstd`` where
        their decoders are installed, as HTTPX), ``connection: keep-alive`` and
        ``user-agent: testclient``, then the client's ``headers=``. Assigning replaces the
        headers given, keeping the defaults, as HTTPX does.
        """
        return self._core.headers

    @headers.setter
    def headers(self, headers: HeaderTypes) -> None:
        self._core.headers = default_headers(headers)

    @property
    def cookies(self) -> Cookies:
        """The cookies kept across requests; assign a dict to replace them."""
        return self._core.cookies

    @cookies.setter
    def cookies(self, cookies: Mapping[str, str] | Cookies) -> None:
        self._core.cookies = Cookies(cookies)

    @property
    def auth(self) -> AuthTypes | None:
        """The ``(username, password)`` sent as HTTP Basic credentials with every request, or None.

        A request's ``auth=`` overrides it (``auth=None`` sends none), as in HTTPX; assign to
        change it.
        """
        return self._core.auth

    @auth.setter
    def auth(self, auth: AuthTypes | None) -> None:
        self._core.auth = check_auth(auth)

    @property
    def app_state(self) -> dict[str, Any] | None:
        """The lifespan state (inside a ``with`` block, when the app offers lifespan), else None."""
        return self._core.app_state

    def build_request(
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
    ) -> TestRequest:
        """Build the request ``request(...)`` would send, to send later with ``send()`` (HTTPX's).

        Its headers are those that go on the wire: ``host``, the client's headers, the cookies;
        credentials (``auth``) are added by ``send()``, as in HTTPX.
        """
        out = self._core.build(
            method, url, params=params, headers=headers, cookies=cookies,
            content=content, data=data, files=files, json=json,
        )  # fmt: skip
        request = self._core.record(out)
        if out.replayable is None:
            self._bodies[id(request)] = (request, out.body)
        return request

    def _outgoing(
        self, request: TestRequest, auth: AuthTypes | UseClientDefault | None
    ) -> Outgoing:
        if not isinstance(request, TestRequest):
            raise TypeError(
                f"send() takes a request from client.build_request(...), got "
                f"{type(request).__name__}: {request!r}."
            )
        held = self._bodies.pop(id(request), None)
        body = held[1] if held is not None else None
        return self._core.authorize(self._core.from_request(request, body), auth)
