"""Helpers for the ASGI extensions (``docs/extensions.rst``, ``specs/tls.rst``): sans-I/O.

Each extension may be used only when the server lists it in ``scope["extensions"]``; that key may be
missing altogether (uvicorn over h11/httptools, daphne), so every check here tolerates its absence.
Requests (early hints, push, ``tls``) and responses (trailers) build their messages with these.
"""

from __future__ import annotations

import dataclasses
import inspect
import reprlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeAlias

from microasgi._sansio.headers import encode_header, encode_header_name, encode_header_value
from microasgi.types import Scope

PUSH = "http.response.push"
EARLY_HINT = "http.response.early_hint"
TRAILERS = "http.response.trailers"
TLS = "tls"

TrailersSource: TypeAlias = (
    Mapping[str, str] | Callable[[], Mapping[str, str]] | Callable[[], Awaitable[Mapping[str, str]]]
)
"""What ``trailers=`` takes: the trailer fields, or a function (sync or async) computing them."""

# Request headers a server push copies from the request that triggered it (Starlette's list):
# the ones that select a cached representation.
_PUSH_HEADERS = frozenset(
    {b"accept", b"accept-encoding", b"accept-language", b"cache-control", b"user-agent"}
)

# SPEC: RFC 9110 section 6.5.1: a trailer must not carry what frames the message, routes it,
# authenticates it or tells how to process the content; RFC 9113 section 8.2.2 forbids the
# connection-specific fields in HTTP/2 anywhere.
_FORBIDDEN_TRAILERS = frozenset(
    {
        b"authorization",
        b"connection",
        b"content-encoding",
        b"content-length",
        b"content-range",
        b"content-type",
        b"host",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"set-cookie",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"www-authenticate",
    }
)

# The names ``ssl.SSLSocket.version()`` gives each protocol version (RFC 8446 appendix D numbers).
_TLS_VERSION_NAMES = {
    0x0300: "SSLv3",
    0x0301: "TLSv1",
    0x0302: "TLSv1.1",
    0x0303: "TLSv1.2",
    0x0304: "TLSv1.3",
}


def offers(scope: Scope, name: str) -> bool:
    """Tell whether the server lists the extension ``name`` in ``scope["extensions"]``."""
    # SPEC: the key may be missing (uvicorn h11/httptools, daphne); treat None alike.
    return name in (scope.get("extensions") or ())


# --- early hints and push --------------------------------------------------------------------


def encode_links(links: str | bytes | Iterable[str | bytes]) -> list[bytes]:
    """Validate ``Link`` header values (RFC 8288) for an early hint and return them as bytes.

    Raises:
        ValueError: no link, an empty link, or one with a control character (CR, LF, NUL ...).
        TypeError: a link is neither ``str`` nor ``bytes``.
    """
    values = [links] if isinstance(links, str | bytes) else list(links)
    if not values:
        raise ValueError(
            "send_early_hints() needs at least one Link value, got none. Pass e.g. "
            "['</style.css>; rel=preload; as=style']."
        )
    encoded = []
    for value in values:
        raw = encode_header_value(value, "link")
        if not raw.strip():
            raise ValueError(
                f"Link value {value!r} is empty. Give a link such as '</app.js>; rel=preload'."
            )
        encoded.append(raw.strip())
    return encoded


def check_push_path(path: str) -> str:
    """Validate the path of a server push: a decoded absolute path, one line, no spaces.

    Raises:
        ValueError: the path does not start with ``/`` or holds whitespace or control characters.
    """
    # SECURITY: servers put the path in the pushed request's ``:path`` as it is (hypercorn does),
    # so a space, CR, LF or NUL could corrupt the promise; absolute-form URLs are refused too.
    if (
        not isinstance(path, str)
        or not path.startswith("/")
        or path.startswith("//")
        or any(char <= " " or char == "\x7f" for char in path)
    ):
        raise ValueError(
            f"A server push path must be a str starting with a single '/', without spaces or "
            f"control characters, got {path!r}. Push a path of this site, such as '/style.css'."
        )
    return path


def push_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The request headers a pushed request copies: those that select a cached representation."""
    return [(name, value) for name, value in scope["headers"] if name in _PUSH_HEADERS]


# --- trailers --------------------------------------------------------------------------------


def accepts_trailers(scope: Scope) -> bool:
    """Tell whether trailers can reach the client of this request.

    The server must offer ``http.response.trailers`` and the client must have sent
    ``TE: trailers`` (servers drop trailers otherwise), and the request must be neither a
    ``HEAD`` nor HTTP/1.0.
    """
    # SPEC: HTTP/1.0 has no chunked framing, the only one that carries trailers; a HEAD
    # response has no body for them to follow.
    if (
        not offers(scope, TRAILERS)
        or scope.get("method", "").upper() == "HEAD"
        or scope.get("http_version") == "1.0"
    ):
        return False
    for name, value in scope["headers"]:
        if name == b"te":
            # SPEC: RFC 9110 section 10.1.4, TE is a list of tokens with optional parameters.
            for item in value.split(b","):
                if item.split(b";", 1)[0].strip().lower() == b"trailers":
                    return True
    return False


def check_trailer_name(name: str | bytes) -> bytes:
    """Validate one trailer field name, refusing the fields a trailer must not carry.

    Raises:
        ValueError: not an HTTP token, or a field RFC 9110 section 6.5.1 forbids in trailers.
    """
    raw = encode_header_name(name)
    if raw in _FORBIDDEN_TRAILERS:
        raise ValueError(
            f"{name!r} cannot be sent as a trailer: RFC 9110 section 6.5.1 forbids fields that "
            "frame, route or authenticate the message or describe its content. Send it as a "
            "header instead."
        )
    return raw


def check_trailers(
    trailers: TrailersSource | None, names: Iterable[str] | None
) -> tuple[bytes, ...]:
    """Validate the ``trailers=`` and ``trailer_names=`` arguments of a response (one is set).

    Returns:
        The announced trailer names (the ``Trailer`` header).

    Raises:
        ValueError: a name is invalid, names are missing for a function, or given for a mapping.
        TypeError: ``trailers`` is neither a mapping nor a callable.
    """
    if trailers is None:
        raise ValueError("trailer_names= needs trailers=: give the trailers to send as well.")
    if isinstance(trailers, Mapping):
        if names is not None:
            raise ValueError(
                "trailer_names= is only for a trailers function: with a mapping, its keys are "
                "the names. Remove trailer_names=."
            )
        encoded = tuple(check_trailer_name(name) for name in trailers)
        for name, value in trailers.items():
            encode_header_value(value, name)
    elif callable(trailers):
        if names is None or isinstance(names, str):
            raise ValueError(
                f"A trailers function needs trailer_names=, the names it will return (sent in "
                f"the Trailer header before the body), got {names!r}. For example "
                "trailer_names=['x-checksum']."
            )
        encoded = tuple(check_trailer_name(name) for name in names)
    else:
        raise TypeError(
            f"trailers= must be a mapping of trailer fields or a function returning one, got "
            f"{type(trailers).__name__}: {reprlib.repr(trailers)}."
        )
    if not encoded:
        raise ValueError("trailers= names no field: give at least one trailer, or None.")
    return encoded


async def resolve_trailers(
    trailers: TrailersSource, announced: tuple[bytes, ...]
) -> list[tuple[bytes, bytes]]:
    """Return the trailer fields to send, calling (and awaiting) a trailers function.

    Raises:
        ValueError: the function returned a field that was not announced, or an invalid value.
        TypeError: the function returned something other than a mapping.
    """
    fields: Any = trailers
    if not isinstance(fields, Mapping):
        fields = trailers()  # type: ignore[operator]
        if inspect.isawaitable(fields):
            fields = await fields
        if not isinstance(fields, Mapping):
            raise TypeError(
                f"The trailers function must return a mapping of trailer fields, got "
                f"{type(fields).__name__}: {reprlib.repr(fields)}."
            )
    pairs = [encode_header(name, value) for name, value in fields.items()]
    for name, _ in pairs:
        if name not in announced:
            raise ValueError(
                f"The trailers function returned {name.decode('latin-1')!r}, which was not "
                f"announced in trailer_names={[n.decode('latin-1') for n in announced]!r}. "
                "Add it to trailer_names=."
            )
    return pairs


# --- tls -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class TLSInfo:
    """The TLS details of a connection, from the ``tls`` extension (``specs/tls.rst``).

    Attributes:
        server_cert: the server's certificate, PEM-encoded, or None when the server cannot say.
        client_cert_chain: the client's certificate chain, PEM-encoded, its own certificate first;
            empty when the client sent none.
        client_cert_name: the client certificate's subject as an RFC 4514 distinguished name.
        client_cert_error: why the client certificate was refused, or None.
        tls_version: the protocol version as its 16-bit number (``0x0304`` is TLS 1.3), or None.
        cipher_suite: the negotiated cipher suite as its 16-bit IANA number, or None.
    """

    server_cert: str | None = None
    client_cert_chain: tuple[str, ...] = ()
    client_cert_name: str | None = None
    client_cert_error: str | None = None
    tls_version: int | None = None
    cipher_suite: int | None = None

    @classmethod
    def from_extension(cls, info: Mapping[str, Any]) -> TLSInfo:
        """Read ``scope["extensions"]["tls"]``, keeping only values of the types the spec gives."""
        chain = info.get("client_cert_chain") or ()
        return cls(
            server_cert=_str_or_none(info.get("server_cert")),
            client_cert_chain=tuple(cert for cert in chain if isinstance(cert, str)),
            client_cert_name=_str_or_none(info.get("client_cert_name")),
            client_cert_error=_str_or_none(info.get("client_cert_error")),
            tls_version=_int_or_none(info.get("tls_version")),
            cipher_suite=_int_or_none(info.get("cipher_suite")),
        )

    @property
    def version(self) -> str | None:
        """The protocol version spelled as ``ssl`` does (``"TLSv1.3"``), or None if unknown."""
        return _TLS_VERSION_NAMES.get(self.tls_version) if self.tls_version is not None else None

    @property
    def client_cert(self) -> str | None:
        """The client's own certificate (PEM), the first of the chain, or None."""
        return self.client_cert_chain[0] if self.client_cert_chain else None


def tls_info(scope: Scope) -> TLSInfo | None:
    """``TLSInfo`` for a scope whose server offers the ``tls`` extension, else None."""
    extensions = scope.get("extensions") or {}
    info = extensions.get(TLS)
    return TLSInfo.from_extension(info) if isinstance(info, Mapping) else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
