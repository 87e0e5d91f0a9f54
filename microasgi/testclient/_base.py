"""What both test clients share: their configuration, and the cookie jar."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from microasgi.testclient._cookies import Cookies
from microasgi.testclient._core import ClientCore
from microasgi.testclient._request import FileTypes, HeaderTypes
from microasgi.types import ASGIApp

Files = Mapping[str, FileTypes] | Sequence[tuple[str, FileTypes]]


class _ClientBase:
    """What both clients share: configuration and the cookie jar."""

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
    ) -> None:
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
        )

    @property
    def app(self) -> ASGIApp:
        """The app under test."""
        return self._core.app

    @property
    def base_url(self) -> str:
        """The URL relative request URLs are resolved against."""
        return self._core.base_url

    @property
    def headers(self) -> dict[str, str]:
        """Headers sent with every request (a dict you may change)."""
        return self._core.headers

    @property
    def cookies(self) -> Cookies:
        """The cookies kept across requests; assign a dict to replace them."""
        return self._core.cookies

    @cookies.setter
    def cookies(self, cookies: Mapping[str, str] | Cookies) -> None:
        self._core.cookies = Cookies(cookies)

    @property
    def app_state(self) -> dict[str, Any] | None:
        """The lifespan state (inside a ``with`` block, when the app offers lifespan), else None."""
        return self._core.app_state
