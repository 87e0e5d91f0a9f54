"""The test client's checks of single messages: their shape (types, header pairs ...) and the
errors and warnings the checks raise. Pure code: no I/O, no anyio.

Every check takes ``strict``. By default a check refuses what the ASGI spec forbids *and* a real
server fails on (uvicorn, hypercorn, granian or daphne: the app would break in production); what only
the spec forbids, and every server copes with, is refused (or, for header case, warned about) only
with ``strict=True``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from microasgi._sansio.headers import encode_header

__all__ = [
    "ASGIProtocolError",
    "ASGIProtocolWarning",
    "ClientDisconnectedError",
    "check_headers",
    "message_type",
    "parse_spec_version",
]


class ASGIProtocolError(AssertionError):
    """The app broke a rule of the ASGI specification.

    Args:
        rule: a short name of the broken rule, such as ``"http.order"`` or ``"headers.lowercase"``.
        detail: what happened and how to fix it.
    """

    def __init__(self, rule: str, detail: str) -> None:
        self.rule = rule
        self.detail = detail
        super().__init__(f"[{rule}] {detail}")


class ASGIProtocolWarning(UserWarning):
    """The app did something the ASGI spec forbids but every real server accepts.

    Only a client made with ``strict=True`` warns; by default the client accepts it silently, as
    servers do. Today that is an upper-case header name, which the client lower-cases.
    """


class ClientDisconnectedError(OSError):
    """Raised by ``send`` when the client has gone away (ASGI spec 2.4 and later)."""


def parse_spec_version(spec_version: str) -> tuple[int, int]:
    """Return ``"2.4"`` as ``(2, 4)``, or raise ``ValueError`` for anything but ``"<major>.<minor>"``."""
    major, dot, minor = (
        spec_version.partition(".") if isinstance(spec_version, str) else ("", "", "")
    )
    if not (dot and major.isdigit() and minor.isdigit()):
        raise ValueError(
            f'spec_version must be an ASGI spec version such as "2.4", got {spec_version!r}.'
        )
    return int(major), int(minor)


# --- message shape -----------------------------------------------------------------------------


def _fail(rule: str, detail: str) -> ASGIProtocolError:
    return ASGIProtocolError(rule, detail)


def message_type(message: object) -> str:
    """Return ``message["type"]``, or raise if ``message`` is not a mapping with a str type."""
    if not isinstance(message, Mapping):
        raise _fail(
            "message.mapping",
            f"The app sent {message!r}, which is not a dict. ASGI messages are dicts with a 'type'.",
        )
    kind = message.get("type")
    if not isinstance(kind, str):
        raise _fail(
            "message.type", f"The app sent a message without a str 'type': {dict(message)!r}."
        )
    return kind


def _bool(message: Mapping[str, Any], key: str, *, strict: bool = False) -> bool:
    value = message.get(key, False)
    # Every server reads None as False; granian misreads other non-bools (1 ends the body).
    if value is None and not strict:
        return False
    if not isinstance(value, bool):
        raise _fail(
            f"{message['type']}.{key}",
            f"{message['type']!r} {key!r} must be a bool, got {value!r}.",
        )
    return value


def _bytes(message: Mapping[str, Any], key: str, *, required: bool = False) -> bytes:
    if key not in message and not required:
        return b""
    value = message.get(key)
    if not isinstance(value, bytes):
        raise _fail(
            f"{message['type']}.{key}",
            f"{message['type']!r} {key!r} must be bytes, got {type(value).__name__}: {value!r}. "
            "Encode text first, for example with .encode('utf-8').",
        )
    return value


def _status(message: Mapping[str, Any], *, strict: bool = False) -> int:
    status = message.get("status")
    # SPEC: status is an int; bool is an int subclass but never a status. Past 599 uvicorn fails.
    # A 1xx is an interim answer, never a final one (RFC 9110 section 15.2): h11 refuses it and
    # hypercorn and granian break on the body that follows, but uvicorn's httptools and daphne send
    # it and Starlette's client takes it as the status, so only strict mode refuses it.
    low = 200 if strict else 100
    if type(status) is not int or not low <= status <= 599:
        hint = " Send early hints with 'http.response.early_hint'." if strict else ""
        raise _fail(
            f"{message['type']}.status",
            f"{message['type']!r} status must be an int from {low} to 599, got {status!r}.{hint}",
        )
    return status


def check_headers(
    message: Mapping[str, Any], key: str = "headers", *, strict: bool = False
) -> list[tuple[bytes, bytes]]:
    """Validate ``message[key]`` as ASGI headers and return them as pairs with lowercase names.

    An upper-case name is lower-cased, as every server accepts it; with ``strict`` the client also
    says so, once per message, through an :class:`ASGIProtocolWarning`.
    """
    kind = message["type"]
    upper: list[bytes] = []
    headers = message.get(key, [])
    if isinstance(headers, str | bytes | Mapping) or not isinstance(headers, Iterable):
        raise _fail(
            "headers.type",
            f"{kind!r} {key!r} must be a list of [name, value] byte pairs, got {headers!r}.",
        )
    pairs: list[tuple[bytes, bytes]] = []
    for item in headers:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise _fail("headers.pair", f"{kind!r} header {item!r} is not a [name, value] pair.")
        name, value = item
        if not isinstance(name, bytes) or not isinstance(value, bytes):
            raise _fail(
                "headers.bytes",
                f"{kind!r} header {item!r} must hold bytes, not str. Encode it as latin-1.",
            )
        if name.startswith(b":"):
            raise _fail(
                "headers.pseudo",
                f"{kind!r} header {name!r} is an HTTP/2 pseudo-header; ASGI forbids them.",
            )
        try:
            encode_header(name, value)
        except ValueError as exc:
            raise _fail("headers.value", f"{kind!r} header is invalid: {exc}") from None
        lower = name.lower()
        if lower != name:
            upper.append(name)
        pairs.append((lower, value))
    if upper and strict:
        # SPEC: names must be lowercase; every server accepts (and most lower-case) others.
        warnings.warn(
            ASGIProtocolWarning(
                f"[headers.lowercase] {kind!r} header names must be lowercase, as ASGI requires, "
                f"got {upper!r}; the client lower-cased them. Lower-case them where they are set "
                "(often a middleware)."
            ),
            stacklevel=2,
        )
    return pairs


def _valid_close_code(code: object) -> bool:
    # SPEC: RFC 6455 section 7.4: 1004-1006 and 1015 are never sent in a close frame, and clients
    # fail the connection on codes not yet assigned (1016-2999), as the websockets library does.
    return (
        type(code) is int
        and (1000 <= code <= 1014 or 3000 <= code <= 4999)
        and (code not in (1004, 1005, 1006))
    )


def _check_close(message: Mapping[str, Any]) -> None:
    code = message.get("code", 1000)
    if not _valid_close_code(code):
        raise _fail(
            "websocket.close.code",
            "'websocket.close' code must be an int from 1000 to 1014 (but not the reserved 1004, "
            f"1005 and 1006) or from 3000 to 4999, got {code!r}.",
        )
    reason = message.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise _fail(
            "websocket.close.reason", f"'websocket.close' reason must be str, got {reason!r}."
        )
    # SPEC: RFC 6455 section 5.5: a control frame carries at most 125 bytes, 2 of them the code.
    if reason is not None and len(reason.encode("utf-8")) > 123:
        raise _fail(
            "websocket.close.reason",
            f"'websocket.close' reason is {len(reason.encode('utf-8'))} bytes of UTF-8; at most 123 fit "
            "in a close frame. Shorten it.",
        )


def _check_websocket_send(message: Mapping[str, Any]) -> None:
    text, data = message.get("text"), message.get("bytes")
    if (text is None) == (data is None):
        raise _fail(
            "websocket.send.payload",
            "'websocket.send' must set exactly one of 'text' and 'bytes' (the other None or absent), "
            f"got text={text!r}, bytes={data!r}.",
        )
    if text is not None and not isinstance(text, str):
        raise _fail("websocket.send.text", f"'websocket.send' text must be str, got {text!r}.")
    if data is not None and not isinstance(data, bytes):
        raise _fail("websocket.send.bytes", f"'websocket.send' bytes must be bytes, got {data!r}.")


def _check_zerocopysend(message: Mapping[str, Any]) -> None:
    file = message.get("file")
    if not callable(getattr(file, "fileno", None)):
        raise _fail(
            "http.response.zerocopysend.file",
            f"'http.response.zerocopysend' file must be an open file object with fileno(), got {file!r}.",
        )
    for key in ("offset", "count"):
        value = message.get(key)
        if value is not None and (type(value) is not int or value < 0):
            raise _fail(
                f"http.response.zerocopysend.{key}",
                f"'http.response.zerocopysend' {key} must be an int >= 0, got {value!r}.",
            )


def _check_pathsend(message: Mapping[str, Any], *, strict: bool = False) -> None:
    path = message.get("path")
    # SPEC: the path is absolute; granian (the server offering pathsend) opens a relative one from
    # its working directory, so only strict mode refuses it.
    if not isinstance(path, str) or (strict and not os.path.isabs(path)):
        what = "an absolute path str" if strict else "a str"
        raise _fail(
            "http.response.pathsend.path",
            f"'http.response.pathsend' path must be {what}, got {path!r}.",
        )


def _check_push(message: Mapping[str, Any], *, strict: bool = False) -> None:
    path = message.get("path")
    # SPEC: hypercorn sends the path as the pushed request's :path, which must start with "/".
    if not isinstance(path, str) or not path.startswith("/"):
        raise _fail(
            "http.response.push.path",
            f"'http.response.push' path must be a str starting with '/', got {path!r}.",
        )
    check_headers(message, strict=strict)


def _check_early_hint(message: Mapping[str, Any]) -> None:
    links = message.get("links")
    if isinstance(links, bytes | str) or not isinstance(links, Iterable):
        raise _fail(
            "http.response.early_hint.links",
            f"'http.response.early_hint' links must be a list of bytes, got {links!r}.",
        )
    for link in links:
        if not isinstance(link, bytes):
            raise _fail(
                "http.response.early_hint.links",
                f"'http.response.early_hint' link {link!r} must be bytes.",
            )


def _check_debug(message: Mapping[str, Any]) -> None:
    if not isinstance(message.get("info"), dict):
        raise _fail(
            "http.response.debug.info",
            f"'http.response.debug' info must be a dict, got {message.get('info')!r}.",
        )


def _check_failed(message: Mapping[str, Any], *, strict: bool = False) -> None:
    text = message.get("message", "")
    # uvicorn and hypercorn only log or show the message, whatever its type.
    if strict and not isinstance(text, str):
        raise _fail(
            f"{message['type']}.message", f"{message['type']!r} message must be str, got {text!r}."
        )
