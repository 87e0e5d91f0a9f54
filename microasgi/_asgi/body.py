"""The request body: one state table, and the reader every ``Request`` over a scope shares.

The body is read from ``receive`` at most once per scope: the ``_BodyReader`` lives in the scope
(``_BODY_KEY``) and every ``Request`` built later over the same scope and ``receive`` (a middleware's
and then the endpoint's) reads through it.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import AsyncGenerator
from typing import NoReturn

import anyio

from microasgi.datastructures import FormData
from microasgi.exceptions import HTTPException
from microasgi.types import Message, Receive

# The body reader of the scope: a ``_BodyReader`` bound to one ``receive``. A ``Request`` built
# later over the same scope and ``receive`` reuses it, so the body is read from the wire once.
_BODY_KEY = "microasgi.body"


class ClientDisconnect(Exception):
    """The client went away (``http.disconnect``) before the request body was read."""


# ---------------------------------------------------------------------------------------------
# The request body: one state table (style item 7).


class _BodyState(enum.Enum):
    UNREAD = "unread"  # nothing taken from the body yet
    STREAMING = "streaming"  # a reader has started taking body messages
    CONSUMED = "consumed"  # the last body message (more_body=False) was taken
    DISCONNECTED = "disconnected"  # http.disconnect came before the end of the body

    # PERF: members are singletons compared by identity, so the identity hash is exact, and it
    # is a C slot; Enum's own __hash__ is Python code, run twice per step of the table.
    __hash__ = object.__hash__


class _BodyEvent(enum.Enum):
    START = "start reading"
    MORE = "receive a body chunk"
    END = "receive the last body chunk"
    DISCONNECT = "receive http.disconnect"

    __hash__ = object.__hash__  # PERF: as _BodyState's


_TRANSITIONS = {
    (_BodyState.UNREAD, _BodyEvent.START): _BodyState.STREAMING,
    (_BodyState.STREAMING, _BodyEvent.MORE): _BodyState.STREAMING,
    (_BodyState.STREAMING, _BodyEvent.END): _BodyState.CONSUMED,
    (_BodyState.STREAMING, _BodyEvent.DISCONNECT): _BodyState.DISCONNECTED,
}


def _too_large_detail(limit: int) -> str:
    """The text of the 413 for a body over ``limit`` bytes: Starlette's (its body limit's), which
    clients and ported tests compare; like Starlette's, it does not disclose the limit."""
    return "Content Too Large"


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, detail=_too_large_detail(limit))


def _refuse_oversize(limit: int, declared: str) -> None:
    """Raise 413 when a ``Content-Length`` value declares more than ``limit`` bytes."""
    if declared.isascii() and declared.isdigit():
        # SECURITY: refuse a declared oversize body before reading a byte of it; a huge digit
        # string is compared by its length, never converted.
        digits = declared.lstrip("0")
        if len(digits) > len(str(limit)) or int(digits or "0") > limit:
            raise _too_large(limit)


class _BodyReader:
    """The body of one ASGI receive channel, shared by every ``Request`` over the scope."""

    __slots__ = (
        "body",
        "disconnected",
        "files",
        "form",
        "pending",
        "pending_size",
        "receive",
        "received",
        "state",
    )

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.state = _BodyState.UNREAD
        self.received = 0  # body bytes taken from receive so far, by every reader together
        self.body: bytes | None = None  # the whole body, once read into memory
        # The parsed form: a multipart body cannot be streamed twice, so it is shared.
        self.form: FormData | None = None
        # Whether that form may hold files, which must be closed (deleted) when the request ends.
        self.files = False
        # Messages taken by is_disconnected() and not yet read by the stream, in order.
        self.pending: deque[Message] = deque()
        self.pending_size = 0
        self.disconnected = False

    def step(self, event: _BodyEvent) -> None:
        new = _TRANSITIONS.get((self.state, event))
        if new is None:
            raise RuntimeError(
                f"Stream consumed: cannot {event.value} in body state {self.state.value!r}. "
                "A request body can be streamed once; call `await request.body()` first to "
                "read it several times."
            )
        self.state = new

    async def read(
        self,
        limit: int | None,
        declared: str | None,
        *,
        share: bool = False,
        keep: bool = False,
        end: bool = False,
    ) -> AsyncGenerator[bytes, None]:
        """Yield the body's non-empty chunks, or the cached body once; with ``end``
        (``stream()``), then an empty chunk, as Starlette's ``stream()`` ends.

        With ``share`` (``stream()``), a reader started while another is streaming takes its
        share of what is left of the body, as in Starlette; the readers that need the whole body
        (``body()``, forms) refuse to start mid-stream instead of returning part of it. With
        ``keep``, the chunks are kept too, and become ``body`` once the last one was read (an
        urlencoded form, capped in memory anyway, stays readable by ``body()``).
        """
        if self.body is not None:
            if self.body:
                yield self.body
            if end:
                yield b""
            return
        self._start(limit, declared, share)
        kept: list[bytes] | None = [] if keep else None
        while self.state is _BodyState.STREAMING:
            message = self.pending.popleft() if self.pending else await self.receive()
            if message.get("type") != "http.request":
                self._refuse(message)
            chunk: bytes = message.get("body", b"")
            # PERF: the table's two steps from STREAMING (MORE, END), without its lookup.
            self.state = (
                _BodyState.STREAMING if message.get("more_body", False) else _BodyState.CONSUMED
            )
            if chunk:
                self.received += len(chunk)
                if limit is not None and self.received > limit:
                    # SECURITY: stop at the first chunk past the limit; read nothing more.
                    raise _too_large(limit)
                if kept is not None:
                    kept.append(chunk)
                yield chunk
        if kept is not None:
            self.body = b"".join(kept)
        if end:
            yield b""

    def _start(self, limit: int | None, declared: str | None, share: bool) -> None:
        """Step the state table as a reader starts, after the checks that come first."""
        if self.state is _BodyState.DISCONNECTED:
            raise ClientDisconnect("The client disconnected before the request body was read.")
        if not (share and self.state is _BodyState.STREAMING):
            self.step(_BodyEvent.START)
        if limit is not None and declared is not None:
            _refuse_oversize(limit, declared)

    def _refuse(self, message: Message) -> NoReturn:
        """Step the state table with a received message that is not a body chunk, and raise."""
        kind = message.get("type")
        if kind == "http.disconnect":
            self.step(_BodyEvent.DISCONNECT)
            self.disconnected = True
            raise ClientDisconnect("The client disconnected while the request body was read.")
        raise RuntimeError(
            f"Unexpected ASGI message {kind!r} while reading the request body: expected "
            "'http.request' or 'http.disconnect'."
        )

    async def poll(self, limit: int | None) -> bool:
        """Tell, without blocking, whether the client is gone; keep any message taken."""
        if self.disconnected:
            return True
        if limit is not None and self.pending_size > limit:
            # SECURITY: holding more would buffer an unread body past the cap; answer from what
            # was seen rather than lose a message or grow without bound.
            return False
        message: Message | None = None
        with anyio.CancelScope() as scope:
            scope.cancel()  # a receive that would wait is cancelled at its first checkpoint
            message = await self.receive()
        if message is not None:
            # Never lose a message: the body stream reads it first.
            self.pending.append(message)
            self.pending_size += len(message.get("body", b"")) + 1
            self.disconnected = message.get("type") == "http.disconnect"
        return self.disconnected
