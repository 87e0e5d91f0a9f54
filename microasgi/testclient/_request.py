"""Building test requests: URLs and query parameters, headers, credentials, bodies (form, multipart,
JSON).

Pure code over ``str``/``bytes`` (file objects given as uploads are read here). Request bodies
follow what HTTPX sends, so suites written against Starlette's HTTPX-based client port as is.
"""

from __future__ import annotations

import contextlib
import io
import json as jsonlib
import mimetypes
import os
import sys
import warnings
from base64 import b64encode
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from pathlib import PurePath
from typing import IO, Any, TypeAlias, cast
from urllib.parse import quote, unquote, urlencode, urljoin, urlsplit

from microasgi._sansio.headers import encode_header
from microasgi.datastructures import URL, Headers
from microasgi.testclient._headers import ClientHeaders
from microasgi.testclient._http import RequestBody

__all__ = [
    "USE_CLIENT_DEFAULT",
    "AuthTypes",
    "Content",
    "FileTypes",
    "HeaderTypes",
    "ParamTypes",
    "TestRequest",
    "UseClientDefault",
    "authorize",
    "check_auth",
    "encode_request",
    "merge_headers",
    "merge_url",
]

Primitive: TypeAlias = str | int | float | bool | None
ParamTypes: TypeAlias = (
    Mapping[str, Primitive | Sequence[Primitive]] | Sequence[tuple[str, Primitive]] | str | bytes
)
HeaderTypes: TypeAlias = Mapping[str, str] | Sequence[tuple[str, str]]
FileContent: TypeAlias = IO[bytes] | bytes | str
FileTypes: TypeAlias = (
    FileContent
    | tuple[str | None, FileContent]
    | tuple[str | None, FileContent, str | None]
    | tuple[str | None, FileContent, str | None, Mapping[str, str]]
)
Content: TypeAlias = str | bytes | Iterable[bytes] | AsyncIterable[bytes]
AuthTypes: TypeAlias = tuple[str | bytes, str | bytes]


class UseClientDefault:
    """The type of :data:`USE_CLIENT_DEFAULT`: a request's ``auth=`` left to the client's."""

    def __repr__(self) -> str:
        return "USE_CLIENT_DEFAULT"


USE_CLIENT_DEFAULT = UseClientDefault()

# The package's own frames, skipped to point a warning at the test's line.
_PACKAGE_DIR = os.path.dirname(__file__)
# Characters left as they are in a request path: RFC 3986 pchar plus "/" and "%" (keeps escapes).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


class TestRequest:
    """The request the client sent, as ``response.request``: ``method``, ``url``, ``headers``, ``content``.

    ``headers`` read as HTTPX's do (repeated headers joined, ``get_list``, ``multi_items``).
    ``content`` is the body when it was given as bytes, text, a form or JSON, and None when it was
    streamed from an iterator (it was consumed while the app read it).
    """

    __test__ = False  # not a pytest test class, despite the name
    __slots__ = ("content", "headers", "method", "url")

    def __init__(self, method: str, url: URL, headers: Headers, content: bytes | None) -> None:
        self.method = method
        self.url = url
        self.headers = (
            headers if isinstance(headers, ClientHeaders) else ClientHeaders(raw=list(headers.raw))
        )
        self.content = content

    def read(self) -> bytes | None:
        """The body sent (HTTPX's spelling of :attr:`content`)."""
        return self.content

    async def aread(self) -> bytes | None:
        """Async version of :meth:`read`."""
        return self.content

    def __repr__(self) -> str:
        return f"<TestRequest [{self.method}] {str(self.url)!r}>"


def _primitive(value: Primitive) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return "" if value is None else str(value)


def _param_pairs(params: ParamTypes) -> list[tuple[str, str]]:
    if isinstance(params, str | bytes):
        text = params.decode("ascii") if isinstance(params, bytes) else params
        return [
            (unquote(k), unquote(v)) for k, _, v in (p.partition("=") for p in text.split("&") if p)
        ]
    items = params.items() if isinstance(params, Mapping) else params
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [cast(Primitive, value)]
        pairs.extend((str(key), _primitive(v)) for v in values)
    return pairs


def merge_url(base_url: str, url: str, params: ParamTypes | None = None) -> str:
    """Resolve ``url`` against ``base_url`` as HTTPX does, and append ``params`` to its query.

    A relative ``url`` is appended to the base URL's path (``base_url="http://t/api"`` and
    ``url="/users"`` give ``http://t/api/users``); an absolute one is used as is. Non-ASCII and
    unsafe characters in the path are percent-encoded; existing escapes are kept.
    """
    parts = urlsplit(url)
    if not parts.scheme:
        base = urlsplit(base_url)
        prefix = base.path if base.path.endswith("/") else base.path + "/"
        path = prefix + parts.path.lstrip("/") if parts.path or not parts.query else prefix
        parts = base._replace(path=path, query=parts.query, fragment="")
    query = parts.query
    if params:
        extra = urlencode(_param_pairs(params))
        query = f"{query}&{extra}" if query and extra else query or extra
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = quote(query, safe=_PATH_SAFE + "?")
    return parts._replace(path=path, query=query, fragment="").geturl()


def redirect_url(current: str, location: str) -> str:
    """Resolve a ``Location`` header against the URL that answered with it."""
    return merge_url(current, urljoin(current, location))


def merge_headers(*sources: HeaderTypes | None) -> list[tuple[bytes, bytes]]:
    """Merge header sources in order; a later source replaces every value of a name it sets."""
    merged: dict[bytes, list[tuple[bytes, bytes]]] = {}
    for source in sources:
        if not source:
            continue
        items = source.items() if isinstance(source, Mapping) else source
        fresh: dict[bytes, list[tuple[bytes, bytes]]] = {}
        for name, value in items:
            pair = encode_header(name, value)
            fresh.setdefault(pair[0], []).append(pair)
        merged.update(fresh)
    return [pair for pairs in merged.values() for pair in pairs]


# --- credentials --------------------------------------------------------------------------------


def check_auth(auth: object) -> AuthTypes | None:
    """Validate an ``auth=`` argument: None, or a ``(username, password)`` tuple of str or bytes."""
    if auth is None or (
        isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(p, str | bytes) for p in auth)
    ):
        return auth
    raise TypeError(
        "auth= takes a (username, password) tuple, sent as HTTP Basic credentials as HTTPX sends "
        f"them, got {type(auth).__name__}: {auth!r}. For another scheme set the header: "
        "headers={'authorization': '...'}."
    )


def _url_credentials(url: str) -> AuthTypes | None:
    """The credentials of a URL's userinfo (``http://user:pass@host/``), as HTTPX takes them."""
    parts = urlsplit(url)
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    return (username, password) if username or password else None


def authorize(
    headers: list[tuple[bytes, bytes]], auth: AuthTypes | None, url: str
) -> list[tuple[bytes, bytes]]:
    """``headers`` with HTTP Basic credentials from ``auth``, else from ``url``'s userinfo.

    As HTTPX: the ``authorization`` header replaces one the test set, in its place, and
    ``user:password`` is UTF-8 (bytes as given), base64-encoded.
    """
    credentials = auth if auth is not None else _url_credentials(url)
    if credentials is None:
        return headers
    username, password = (p.encode("utf-8") if isinstance(p, str) else p for p in credentials)
    value = b"Basic " + b64encode(username + b":" + password)
    kept = [(name, v) for name, v in headers if name != b"authorization"]
    at = next((i for i, (name, _) in enumerate(headers) if name == b"authorization"), len(kept))
    kept.insert(at, (b"authorization", value))
    return kept


# --- bodies -------------------------------------------------------------------------------------

# SPEC: WHATWG "multipart/form-data encoding algorithm", as HTTPX applies it to names and
# filenames: '"' becomes %22, a backslash is doubled, control characters but ESC become %XX.
_FORM_PARAM_ESCAPES = {ord('"'): "%22", ord("\\"): "\\\\"} | {
    code: f"%{code:02X}" for code in range(0x20) if code != 0x1B
}
_READ_SIZE = 64 * 1024  # what HTTPX reads from a file object at a time


def _form_param(key: str, value: str) -> str:
    return f'{key}="{value.translate(_FORM_PARAM_ESCAPES)}"'


def _field_values(name: str, value: Any) -> list[bytes]:
    values = value if isinstance(value, list | tuple) else [value]
    encoded: list[bytes] = []
    for item in values:
        if isinstance(item, bytes):
            encoded.append(item)
        elif item is None or isinstance(item, str | int | float):
            encoded.append(_primitive(item).encode("utf-8"))
        else:
            raise TypeError(
                f"Form field {name!r} must be a str, bytes, number, bool or None (or a list of "
                f"them), got {type(item).__name__}: {item!r}. Send files with files= instead."
            )
    return encoded


def _file_content(name: str, content: Any) -> bytes:
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, bytes):
        return content
    if isinstance(content, io.TextIOBase):
        raise TypeError(
            f"The upload {name!r} is a text file ({type(content).__name__}); multipart uploads "
            "need bytes. Open the file in binary mode ('rb'), or use io.BytesIO."
        )
    try:
        content.seek(0)  # as HTTPX does: the whole file, whatever was read before
    except (AttributeError, OSError):
        pass
    data = content.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _file_part(name: str, value: FileTypes) -> bytes:
    """One file part, headers and content, laid out as HTTPX writes it."""
    content_type: str | None = None
    extra: Mapping[str, str] = {}
    if isinstance(value, tuple):
        filename, content = value[0], value[1]
        if len(value) > 2:
            content_type = value[2]
        if len(value) > 3:
            extra = value[3]
    else:
        filename, content = PurePath(str(getattr(value, "name", "upload"))).name, value
    if content_type is None and filename:
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    head = f"Content-Disposition: form-data; {_form_param('name', name)}"
    if filename:
        head += f"; {_form_param('filename', filename)}"
    # The part's own headers come first; Content-Type last, unless they set one themselves.
    lines = [head, *(f"{key}: {text}" for key, text in extra.items())]
    if content_type is not None and not any("content-type" in key.lower() for key in extra):
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + _file_content(name, content)


def encode_multipart(
    data: Mapping[str, Any] | None,
    files: Mapping[str, FileTypes] | Sequence[tuple[str, FileTypes]],
    boundary: bytes | None = None,
) -> tuple[str, bytes]:
    """Encode form fields and files as ``multipart/form-data``; return (content-type, body)."""
    boundary = boundary or os.urandom(16).hex().encode("ascii")
    parts: list[bytes] = []
    for name, value in (data or {}).items():
        head = f"Content-Disposition: form-data; {_form_param('name', name)}\r\n\r\n"
        parts.extend(head.encode("utf-8") + item for item in _field_values(name, value))
    items = files.items() if isinstance(files, Mapping) else files
    parts.extend(_file_part(name, value) for name, value in items)
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary + b"--\r\n"
    return f"multipart/form-data; boundary={boundary.decode('ascii')}", body


def _boundary(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The boundary of a ``multipart/form-data`` content-type the test set itself, if any."""
    for name, value in headers:
        if name == b"content-type" and value.startswith(b"multipart/form-data"):
            for param in value.split(b";")[1:]:
                key, _, given = param.strip().partition(b"=")
                if key.lower() == b"boundary" and given.strip(b'"'):
                    return given.strip(b'"')
    return None


def _file_length(stream: Any) -> int | None:
    """The size of a file object, without reading it (None when it cannot tell)."""
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError):
        pass
    try:
        offset = stream.tell()
        length: int = stream.seek(0, os.SEEK_END)
        stream.seek(offset)
    except (AttributeError, OSError):
        return None
    return length


def _read_chunks(file: Any) -> Iterator[bytes]:
    while chunk := file.read(_READ_SIZE):
        yield chunk


async def _aread_chunks(file: Any) -> AsyncIterator[bytes]:
    while chunk := await file.aread(_READ_SIZE):
        yield chunk


def _encode_content(content: Any) -> tuple[list[tuple[str, str]], RequestBody, bytes | None]:
    if isinstance(content, str | bytes):
        body = content.encode("utf-8") if isinstance(content, str) else content
        return ([("content-length", str(len(body)))] if body else []), body, body
    if isinstance(content, Iterable) and not isinstance(content, dict):
        length = _file_length(content)
        framing = (
            ("transfer-encoding", "chunked") if length is None else ("content-length", str(length))
        )
        # A file object is read in chunks, as HTTPX does, not iterated line by line.
        chunks = _read_chunks(content) if hasattr(content, "read") else content
        return [framing], chunks, None
    if isinstance(content, AsyncIterable):
        achunks = _aread_chunks(content) if hasattr(content, "aread") else content
        return [("transfer-encoding", "chunked")], achunks, None
    raise TypeError(
        f"content= takes bytes, str or an (async) iterable of bytes, got "
        f"{type(content).__name__}: {content!r}. Send a form with data=, JSON with json=."
    )


def _warn_raw_data() -> None:
    # HTTPX's own deprecation, with its class and message, so a ported pytest.warns() matches;
    # not a MicroASGIDeprecationWarning: the deprecated spelling is HTTPX's, not ours.
    level = 2
    frame = sys._getframe(1)
    while frame.f_back is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE_DIR)
        or frame.f_code.co_filename == contextlib.__file__
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(
        "Use 'content=<...>' to upload raw bytes/text content.",
        DeprecationWarning,
        stacklevel=level,
    )


def encode_request(
    method: str,
    headers: list[tuple[bytes, bytes]],
    *,
    content: Content | None = None,
    data: Mapping[str, Any] | Content | None = None,
    files: Mapping[str, FileTypes] | Sequence[tuple[str, FileTypes]] | None = None,
    json: Any = None,
) -> tuple[list[tuple[bytes, bytes]], RequestBody, bytes | None]:
    """Encode a request body as HTTPX does; return (headers, body for the exchange, replayable).

    ``headers`` are the request's headers so far (defaults, the client's, the request's). The
    body adds its own framing and type only where the test set none (a test's ``content-type``,
    multipart boundary included, wins). ``data=`` that is not a mapping is sent raw with
    HTTPX's ``DeprecationWarning``. POST, PUT and PATCH without a body send
    ``content-length: 0``. ``replayable`` is the body as bytes, or None when it streams.
    """
    body: RequestBody
    replayable: bytes | None
    if data is not None and not isinstance(data, Mapping):
        _warn_raw_data()
        body_headers, body, replayable = _encode_content(data)
    elif content is not None:
        body_headers, body, replayable = _encode_content(content)
    else:
        if files:
            content_type, body = encode_multipart(data, files, _boundary(headers))
        elif data:
            body = urlencode(_param_pairs(data)).encode("ascii")
            content_type = "application/x-www-form-urlencoded"
        elif json is not None:
            text = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            body, content_type = text.encode(), "application/json"
        else:
            return _add_body_headers(method, headers, []), b"", b""
        body_headers = [("content-length", str(len(body))), ("content-type", content_type)]
        replayable = body
    return _add_body_headers(method, headers, body_headers), body, replayable


def _add_body_headers(
    method: str, headers: list[tuple[bytes, bytes]], body_headers: list[tuple[str, str]]
) -> list[tuple[bytes, bytes]]:
    # As HTTPX: the body's headers are defaults, a transfer-encoding is dropped where the test
    # set a content-length, and a body-less POST, PUT or PATCH says content-length: 0.
    out = list(headers)
    present = {name for name, _ in headers}
    for name, value in body_headers:
        pair = encode_header(name, value)
        if pair[0] in present or (pair[0] == b"transfer-encoding" and b"content-length" in present):
            continue
        present.add(pair[0])
        out.append(pair)
    framed = b"content-length" in present or b"transfer-encoding" in present
    if not framed and method in ("POST", "PUT", "PATCH"):
        out.append((b"content-length", b"0"))
    return out
