"""A cookie store for the test client, over the standard library's ``http.cookiejar``.

``http.cookiejar`` applies the browser rules (domain and path matching, ``Expires``/``Max-Age``,
deletion by an expired cookie, ``Secure`` only over https), which is what an HTTPX-based client
does too; this module adapts it to ASGI header lists.
"""

from __future__ import annotations

import email.message
import urllib.request
from collections.abc import Iterator, Mapping, MutableMapping
from http.cookiejar import Cookie, CookieJar

__all__ = ["Cookies"]


class _SetCookieResponse:
    """The ``response.info()`` view that ``CookieJar.extract_cookies`` reads."""

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self._message = email.message.Message()
        for name, value in headers:
            if name == b"set-cookie":
                self._message["Set-Cookie"] = value.decode("latin-1")

    def info(self) -> email.message.Message:
        return self._message


class Cookies(MutableMapping[str, str]):
    """The cookies of a client (kept across requests) or of one response (the ones it set).

    A mapping of cookie names to values, over an ``http.cookiejar.CookieJar`` (``.jar``).
    ``cookies["name"] = "value"`` and :meth:`set` add a cookie sent to every host; the app's
    ``Set-Cookie`` headers add cookies scoped to their domain and path.

    Args:
        cookies: initial cookies, a mapping of names to values or another ``Cookies``.
    """

    def __init__(self, cookies: Mapping[str, str] | Cookies | None = None) -> None:
        self.jar = CookieJar()
        if isinstance(cookies, Cookies):
            for cookie in cookies.jar:
                self.jar.set_cookie(cookie)
        elif cookies:
            for name, value in cookies.items():
                self.set(name, value)

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        """Set a cookie; with the default empty ``domain`` it is sent to every host."""
        cookie = Cookie(
            version=0,
            name=name,
            value=value,
            port=None,
            port_specified=False,
            domain=domain,
            domain_specified=bool(domain),
            domain_initial_dot=domain.startswith("."),
            path=path,
            path_specified=bool(path),
            secure=False,
            expires=None,
            discard=True,
            comment=None,
            comment_url=None,
            rest={},
        )
        self.jar.set_cookie(cookie)

    def get(  # type: ignore[override]
        self,
        name: str,
        default: str | None = None,
        domain: str | None = None,
        path: str | None = None,
    ) -> str | None:
        """Return the value of cookie ``name`` (optionally of ``domain`` and ``path``), or ``default``."""
        for cookie in self.jar:
            if (
                cookie.name == name
                and domain in (None, cookie.domain)
                and path in (None, cookie.path)
            ):
                return cookie.value
        return default

    def delete(self, name: str, domain: str | None = None, path: str | None = None) -> None:
        """Remove every cookie called ``name`` (optionally only of ``domain`` and ``path``)."""
        doomed = [
            cookie
            for cookie in self.jar
            if cookie.name == name
            and domain in (None, cookie.domain)
            and path in (None, cookie.path)
        ]
        for cookie in doomed:
            self.jar.clear(cookie.domain, cookie.path, cookie.name)

    def clear(self, domain: str | None = None, path: str | None = None) -> None:
        """Remove every cookie, or those of ``domain`` (and ``path`` within it), as HTTPX does.

        Raises:
            ValueError: if ``path`` is given without ``domain``.
        """
        if domain is None:
            if path is not None:
                raise ValueError(
                    f"Cookies.clear(path={path!r}) needs the domain too, such as "
                    f"clear(domain='testserver.local', path={path!r})."
                )
            self.jar.clear()
        elif path is None:
            self.jar.clear(domain)
        else:
            self.jar.clear(domain, path)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        if self.get(name) is None:
            raise KeyError(name)
        self.delete(name)

    def __iter__(self) -> Iterator[str]:
        return iter([cookie.name for cookie in self.jar])

    def __len__(self) -> int:
        return len(self.jar)

    def __repr__(self) -> str:
        pairs = ", ".join(f"{c.name}={c.value!r} for {c.domain}{c.path}" for c in self.jar)
        return f"<Cookies[{pairs}]>"

    # --- used by the client ----------------------------------------------------------------------

    def header_for(self, url: str) -> str | None:
        """The ``cookie`` header value to send to ``url`` (every matching cookie, ``"; "``-joined)."""
        request = urllib.request.Request(url)
        self.jar.add_cookie_header(request)
        return request.get_header("Cookie")

    def extract(self, url: str, headers: list[tuple[bytes, bytes]]) -> None:
        """Store (or delete) the cookies the ``set-cookie`` headers of a response to ``url`` set."""
        self.jar.extract_cookies(_SetCookieResponse(headers), urllib.request.Request(url))  # type: ignore[arg-type]
