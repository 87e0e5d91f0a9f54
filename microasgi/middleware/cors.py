"""``CORSMiddleware``: Cross-Origin Resource Sharing, as the Fetch standard defines it.

Browsers ask before letting a page on one origin read responses from another. This middleware
answers their preflight requests (``OPTIONS`` with ``Origin`` and
``Access-Control-Request-Method``) itself, and adds the ``Access-Control-*`` headers to the
app's responses to the origins you allow.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from microasgi._sansio.headers import encode_header
from microasgi.datastructures import MutableHeaders
from microasgi.responses import PlainTextResponse
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CORSMiddleware"]

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
# SPEC: Fetch, "CORS-safelisted request-header": these never need to be allowed (Starlette lists
# them in every preflight answer too, so browsers with stricter value rules still pass), spelled
# as Starlette lists them.
SAFELISTED_HEADERS = ("Accept", "Accept-Language", "Content-Language", "Content-Type")
# SECURITY: a serialized origin is a scheme, a host of at most 253 characters and a port. Longer
# values are no origin a browser sends, and are never given to allow_origin_regex, which bounds
# the cost of a regex that backtracks badly.
_MAX_ORIGIN = 300
_DEFAULT_PORTS = {"http": 80, "https": 443}
# SPEC: Fetch, "CORS protocol and HTTP caches": a preflight's answer depends on these request
# headers, so a cache must key it on all of them (Starlette 1.10 sends the same list).
_PREFLIGHT_VARY = (
    b"vary",
    b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
    b"Access-Control-Request-Private-Network",
)
# SPEC: RFC 9110 section 5.6.2, token: method and header names.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class CORSMiddleware:
    """Add CORS headers for the allowed origins, and answer preflight requests.

    A request is a *preflight* when it is ``OPTIONS`` with an ``Origin`` and an
    ``Access-Control-Request-Method`` header: it is answered here, 200 when the origin, method,
    headers and private-network access it asks for are all allowed, and 400 otherwise, with a body
    naming what failed (``Disallowed CORS origin, headers``). Every other request goes to the app,
    and the response gets ``Access-Control-Allow-Origin`` (plus ``-Credentials`` and
    ``-Expose-Headers`` as configured) when its ``Origin`` is allowed.

    Origins are compared exactly, as browsers serialize them (``https://example.com``, lowercase,
    no trailing slash, no default port): the ones you list are normalized to that form, and
    requests for ``https://example.com.evil.com``, ``https://EXAMPLE.com``, ``https://example.com.``
    or ``https://example.com:8443`` do not match ``https://example.com``. The CORS headers are
    added only to requests that carry an ``Origin``, so every response gets ``Vary: Origin``
    (merged into the app's own ``Vary`` fields), and every preflight answer, refused ones
    included, ``Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers,
    Access-Control-Request-Private-Network``: caches never serve one origin's answer to another.

    ``allow_origins=["*"]`` answers ``Access-Control-Allow-Origin: *``. Browsers refuse ``*`` for
    requests with credentials (cookies, HTTP authentication), and reflecting any origin instead
    would let every site on the web act as the logged-in user, so ``["*"]`` together with
    ``allow_credentials=True`` is refused at construction.

    ``allow_origin_regex`` is compiled once and must match the whole origin
    (``re.fullmatch``), so ``r"https://.*\\.example\\.com"`` does not match
    ``https://a.example.com.evil.com``. The regex runs on client input: keep it free of nested
    repetition that backtracks (``(a+)+``); origins longer than 300 characters are refused before
    it runs.

    Args:
        app: the app to wrap.
        allow_origins: origins allowed to read responses (``"https://example.com"``), or
            ``["*"]`` for any.
        allow_methods: methods a preflight may ask for; ``["*"]`` for the common ones.
        allow_headers: request headers a preflight may ask for (matched case-insensitively,
            listed in the answer as given), or ``["*"]`` for any (the answer echoes the request's
            list as sent); the CORS-safelisted ones are always allowed.
        allow_credentials: let browsers send cookies and read responses to credentialed requests.
        allow_origin_regex: a pattern that allowed origins match in full.
        allow_private_network: answer ``Access-Control-Request-Private-Network`` preflights
            (a public page reaching a private-network server) with consent.
        expose_headers: response headers pages may read beyond the safelisted ones.
        max_age: seconds browsers may cache a preflight answer.

    Raises:
        ValueError: ``["*"]`` with credentials, an origin that is not ``scheme://host[:port]``,
            a regex that does not compile, a method or header name that is not a token, or a
            negative ``max_age``.
        TypeError: a single string where a list is expected.
    """

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Sequence[str] = (),
        allow_methods: Sequence[str] = ("GET",),
        allow_headers: Sequence[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        allow_private_network: bool = False,
        expose_headers: Sequence[str] = (),
        max_age: int = 600,
    ) -> None:
        for option, value in (
            ("allow_origins", allow_origins),
            ("allow_methods", allow_methods),
            ("allow_headers", allow_headers),
            ("expose_headers", expose_headers),
        ):
            if isinstance(value, str):
                raise TypeError(
                    f"{option} must be a list of strings, got the string {value!r}. "
                    f"Use {option}=[{value!r}]."
                )
        self.app = app
        self.allow_all_origins = "*" in allow_origins
        if self.allow_all_origins and allow_credentials:
            raise ValueError(
                "CORSMiddleware(allow_origins=['*'], allow_credentials=True) would let every "
                "website read responses as the logged-in user, and browsers refuse "
                "'Access-Control-Allow-Origin: *' with credentials anyway. List the origins you "
                "trust (allow_origins=['https://app.example.com']), or match them with "
                "allow_origin_regex=r'https://.*\\.example\\.com', or set allow_credentials=False."
            )
        if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
            raise ValueError(f"max_age must be a number of seconds >= 0, got {max_age!r}.")
        self.allow_origins = frozenset(_origin(o) for o in allow_origins if o != "*")
        self.allow_origin_regex: re.Pattern[str] | None = None
        if allow_origin_regex is not None:
            try:
                self.allow_origin_regex = re.compile(allow_origin_regex)
            except re.error as exc:
                raise ValueError(
                    f"allow_origin_regex {allow_origin_regex!r} is not a valid regular "
                    f"expression: {exc}."
                ) from None
        methods = ALL_METHODS if "*" in allow_methods else tuple(allow_methods)
        self.allow_methods = frozenset(_tokens("allow_methods", methods))
        self.allow_all_headers = "*" in allow_headers
        listed = _header_names(allow_headers)
        self.allow_headers = frozenset(listed)
        self.allow_credentials = allow_credentials
        self.allow_private_network = allow_private_network

        # PERF: every header that does not depend on the request is encoded once, here.
        simple: list[tuple[bytes, bytes]] = []
        if allow_credentials:
            simple.append(encode_header("access-control-allow-credentials", "true"))
        if expose_headers:
            names = ", ".join(_tokens("expose_headers", expose_headers))
            simple.append(encode_header("access-control-expose-headers", names))
        self._simple_headers = simple
        self._all_origins_headers = [(b"access-control-allow-origin", b"*"), *simple]
        preflight = [
            encode_header("access-control-allow-methods", ", ".join(methods)),
            encode_header("access-control-max-age", str(max_age)),
        ]
        if not self.allow_all_headers:
            names = ", ".join(sorted(listed.values()))
            preflight.append(encode_header("access-control-allow-headers", names))
        if allow_credentials:
            preflight.append(encode_header("access-control-allow-credentials", "true"))
        self._preflight_headers = preflight

    def is_allowed_origin(self, origin: str) -> bool:
        """Whether ``origin`` (an ``Origin`` header value) may read responses."""
        if self.allow_all_origins or origin in self.allow_origins:
            return True
        return (
            self.allow_origin_regex is not None
            and len(origin) <= _MAX_ORIGIN
            # SECURITY: an allowed origin is echoed back in a header; control characters and
            # non-ASCII never reach the regex, so a loose pattern cannot let them through.
            and origin.isascii()
            and origin.isprintable()
            and self.allow_origin_regex.fullmatch(origin) is not None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin: str | None = None
        request_method: str | None = None
        repeated = False
        for name, value in scope["headers"]:
            if name == b"origin":
                # SECURITY: a request has one Origin; with several, none of them is trusted.
                repeated = origin is not None
                origin = value.decode("latin-1")
            elif name == b"access-control-request-method":
                request_method = value.decode("latin-1")
        allowed = origin is not None and not repeated and self.is_allowed_origin(origin)
        if origin is not None and request_method is not None and scope["method"] == "OPTIONS":
            await self._preflight(scope, receive, send, origin if allowed else None, request_method)
            return
        if origin is None:
            headers = []  # not a CORS request (Starlette adds nothing either)
        elif self.allow_all_origins:
            headers = self._all_origins_headers
        elif allowed:
            headers = [encode_header("access-control-allow-origin", origin), *self._simple_headers]
        else:
            headers = []

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                if headers:
                    # Ours replace any the app set, as in Starlette.
                    names = {name for name, _ in headers}
                    kept = [item for item in message.get("headers", ()) if item[0] not in names]
                    message["headers"] = kept + headers
                # SPEC: Fetch, "CORS protocol and HTTP caches": the answer depends on Origin
                # (with "*" too: there are CORS headers only when it is sent), whether or not
                # this request sent one, so every response says so.
                MutableHeaders(scope=message).add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self, scope: Scope, receive: Receive, send: Send, origin: str | None, method: str
    ) -> None:
        """Answer a preflight; ``origin`` is ``None`` when the request's origin is not allowed."""
        headers = [*self._preflight_headers, _PREFLIGHT_VARY]
        failures: list[str] = []
        if origin is None:
            failures.append("origin")
        elif self.allow_all_origins:
            headers.append((b"access-control-allow-origin", b"*"))
        else:
            headers.append(encode_header("access-control-allow-origin", origin))
        # SPEC: Fetch compares methods case-sensitively (only the six standard ones are
        # uppercased by browsers, and they send them uppercased).
        if method not in self.allow_methods:
            failures.append("method")
        parsed = _requested_headers(scope)
        if parsed is None:
            failures.append("headers")
        elif self.allow_all_headers:
            requested, as_sent = parsed
            if requested:
                # As Starlette: the request's list, echoed as the client sent it (validated).
                headers.append(encode_header("access-control-allow-headers", as_sent))
        elif not self.allow_headers.issuperset(parsed[0]):
            failures.append("headers")
        if _header(scope, b"access-control-request-private-network") is not None:
            if self.allow_private_network:
                headers.append((b"access-control-allow-private-network", b"true"))
            else:
                failures.append("private-network")
        if failures:
            body, status = "Disallowed CORS " + ", ".join(failures), 400
        else:
            body, status = "OK", 200
        response = PlainTextResponse(body, status_code=status)
        response.raw_headers.extend(headers)
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _requested_headers(scope: Scope) -> tuple[list[str], str] | None:
    """The header names of ``Access-Control-Request-Headers``, lowercased, and the list as sent
    (several fields joined by ``", "``); ``None`` if invalid.

    Browsers send one lowercase, comma-separated list without spaces; other clients may send
    several fields, spaces, tabs, capitals and empty items, all of which are accepted. A name that
    is not an HTTP token makes the whole list invalid.
    """
    names: list[str] = []
    fields: list[str] = []
    for key, value in scope["headers"]:
        if key == b"access-control-request-headers":
            field = value.decode("latin-1").strip(" \t")
            fields.append(field)
            for item in field.split(","):
                item = item.strip(" \t")
                if not item:
                    continue  # SPEC: RFC 9110 section 5.6.1, empty list elements are ignored.
                if not _TOKEN.fullmatch(item):
                    return None
                names.append(item.lower())
    return names, ", ".join(fields)


def _header_names(allow_headers: Sequence[str]) -> dict[str, str]:
    """Each allowed header's lowercased name (for matching, case-insensitive) mapped to its name
    in the preflight answer: as Starlette lists them, the safelisted ones in their canonical case
    and the configured ones as given (the first spelling of a name wins)."""
    listed = {name.lower(): name for name in SAFELISTED_HEADERS}
    for name in _tokens("allow_headers", allow_headers):
        if name != "*":
            listed.setdefault(name.lower(), name)
    return listed


def _tokens(option: str, values: Sequence[str]) -> list[str]:
    for value in values:
        if not isinstance(value, str) or (value != "*" and not _TOKEN.fullmatch(value)):
            raise ValueError(
                f"{option} must hold header or method names (HTTP tokens) or '*', got {value!r}."
            )
    return list(values)


def _origin(value: object) -> str:
    """Return ``value`` as browsers serialize an origin, or raise ``ValueError``."""
    if not isinstance(value, str):
        raise TypeError(f"Each allowed origin must be a string, got {value!r}.")
    if value == "null":
        raise ValueError(
            "allow_origins must not list 'null': browsers send it from sandboxed iframes, "
            "file: pages and redirects, so any site can produce it. If you really mean it, "
            "match it with allow_origin_regex='null'."
        )
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
        or parts.path not in ("", "/")
    ):
        raise ValueError(
            f"Allowed origin {value!r} is not an origin. An origin is a scheme, a host and an "
            "optional port, with no path: 'https://example.com' or 'http://localhost:8000'."
        )
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"
