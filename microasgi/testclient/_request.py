"""Building test requests: URLs and query parameters, headers, bodies (form, multipart, JSON).

Pure code over ``str``/``bytes`` (file objects given as uploads are read here). Request bodies
follow what HTTPX sends, so suites written against Starlette's HTTPX-based client port as is.
"""

from __future__ import annotations

import json as jsonlib
import mimetypes
import os
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import IO, Any, TypeAlias, cast
from urllib.parse import quote, unquote, urlencode, urljoin, urlsplit

from microasgi._sansio.headers import encode_header
from microasgi.datastructures import URL, Headers
from microasgi.testclient._http import RequestBody

__all__ = [
    "Content",
    "FileTypes",
    "HeaderTypes",
    "ParamTypes",
    "TestRequest",
    "encode_body",
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

# Characters left as they are in a request path: RFC 3986 pchar plus "/" and "%" (keeps escapes).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


class TestRequest:
    """The request the client sent, as ``response.request``: ``method``, ``url``, ``headers``, ``content``.

    ``content`` is the body when it was given as bytes, text, a form or JSON, and None when it was
    streamed from an iterator (it was consumed while the app read it).
    """

    __test__ = False  # not a pytest test class, despite the name
    __slots__ = ("content", "headers", "method", "url")

    def __init__(self, method: str, url: URL, headers: Headers, content: bytes | None) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.content = content

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


# --- bodies -------------------------------------------------------------------------------------


def _form_pairs(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not isinstance(data, Mapping):
        raise TypeError(
            f"data= takes a dict of form fields, got {type(data).__name__}: {data!r}. "
            "Send raw bytes or text with content= instead."
        )
    return _param_pairs(data)


def _quote_param(value: str) -> str:
    # SPEC: WHATWG "multipart/form-data encoding algorithm": escape '"', CR and LF in names.
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _file_parts(
    value: FileTypes,
) -> tuple[str | None, bytes, str | None, Mapping[str, str]]:
    headers: Mapping[str, str] = {}
    content_type: str | None = None
    if isinstance(value, tuple):
        filename, content = value[0], value[1]
        if len(value) > 2:
            content_type = value[2]
        if len(value) > 3:
            headers = value[3]
    else:
        content = value
        name = getattr(value, "name", None)
        filename = PurePath(name).name if isinstance(name, str) else "upload"
    if isinstance(content, str):
        data = content.encode("utf-8")
    elif isinstance(content, bytes):
        data = content
    else:
        data = content.read()
    if content_type is None and filename:
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return filename, data, content_type, headers


def encode_multipart(
    data: Mapping[str, Any] | None,
    files: Mapping[str, FileTypes] | Sequence[tuple[str, FileTypes]],
    boundary: bytes | None = None,
) -> tuple[str, bytes]:
    """Encode form fields and files as ``multipart/form-data``; return (content-type, body)."""
    boundary = boundary or os.urandom(16).hex().encode("ascii")
    parts: list[bytes] = []
    for name, text in _form_pairs(data or {}):
        head = f'Content-Disposition: form-data; name="{_quote_param(name)}"\r\n\r\n'
        parts.append(head.encode("utf-8") + text.encode("utf-8"))
    items = files.items() if isinstance(files, Mapping) else files
    for name, value in items:
        filename, content, content_type, extra = _file_parts(value)
        head = f'Content-Disposition: form-data; name="{_quote_param(name)}"'
        if filename is not None:
            head += f'; filename="{_quote_param(filename)}"'
        lines = [head]
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        lines.extend(f"{k}: {v}" for k, v in extra.items())
        parts.append(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + content)
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary + b"--\r\n"
    return f"multipart/form-data; boundary={boundary.decode('ascii')}", body


def encode_body(
    *,
    content: Content | None = None,
    data: Mapping[str, Any] | None = None,
    files: Mapping[str, FileTypes] | Sequence[tuple[str, FileTypes]] | None = None,
    json: Any = None,
) -> tuple[list[tuple[str, str]], RequestBody, bytes | None]:
    """Encode a request body; return (headers to add, body for the exchange, replayable bytes)."""
    headers: list[tuple[str, str]] = []
    if content is not None:
        if isinstance(content, str | bytes):
            body = content.encode("utf-8") if isinstance(content, str) else content
            return [("content-length", str(len(body)))], body, body
        if isinstance(content, Iterable | AsyncIterable):
            return [("transfer-encoding", "chunked")], content, None
        raise TypeError(
            f"content= takes bytes, str or an (async) iterable of bytes, got "
            f"{type(content).__name__}: {content!r}."
        )
    if files:
        content_type, body = encode_multipart(data, files)
        headers.append(("content-type", content_type))
    elif data is not None:
        body = urlencode(_form_pairs(data)).encode("ascii")
        headers.append(("content-type", "application/x-www-form-urlencoded"))
    elif json is not None:
        body = jsonlib.dumps(
            json, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()
        headers.append(("content-type", "application/json"))
    else:
        return [], b"", b""
    headers.append(("content-length", str(len(body))))
    return headers, body, body
