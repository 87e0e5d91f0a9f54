"""The connection's receive buffer: one reader of the server's ``receive`` shared by every reader
of the request, so a task can watch for ``http.disconnect`` without taking anybody's message.

A route that cancels its endpoint when the client leaves must keep calling ``receive()`` while the
endpoint runs, since that is where ASGI reports the disconnect. ``receive()`` hands each message to
one caller only, so a second caller would take body chunks that the endpoint, its body reader
(``request.body()``, ``stream()``, ``form()``, ``is_disconnected()``) or a raw ASGI app wants.
``_Inbox`` is the answer: the watcher (``start_watching()``) is the only caller of the server's
``receive``; it appends every message to a buffer, and the app's ``receive`` is the inbox itself,
which hands the buffered messages out in order. Nothing is consumed twice and nothing is lost.

The watcher reads ahead at most ``_READ_AHEAD`` bytes of request body that nobody has taken yet,
then waits for the app to take some: a client cannot make the buffer grow past that, and the
server's own flow control still applies. A request sent with ``Expect: 100-continue`` is not read
before the app reads it (the first ``receive()`` makes the server send ``100 Continue``).

The inbox also bounds the wait for request body data (``body_timeout``): a reader that waits
longer than that for the next body message gets an ``HTTPException(408)``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc

from microasgi._asgi.body import _BODY_KEY, _BodyReader
from microasgi.exceptions import HTTPException
from microasgi.types import Message, Receive, Scope

logger = logging.getLogger("microasgi")

_READ_AHEAD = 64 * 1024
"""The request body, in bytes, the watcher takes before the app has asked for it."""

_DISCONNECT: Message = {"type": "http.disconnect"}


def _ignore() -> None:
    return None


def _body_size(message: Message) -> int:
    body = message.get("body")
    return len(body) if body else 0


def _expects_continue(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"expect" and value.lower() == b"100-continue":
            return True
    return False


class _Inbox:
    """The app's ``receive`` while a guard watches the connection or bounds body waits.

    Call it as the ASGI ``receive``. ``start_watching()`` starts a task that reads the server's ``receive``
    ahead of the app; without a watcher, a call reads the server's ``receive`` directly.

    Attributes:
        body_timeout: the longest wait, in seconds, for the next request body message (``None``:
            no limit); past it a read raises ``HTTPException(408)``.
        on_disconnect: called once, by the watcher, when ``http.disconnect`` arrives.
        watching: whether a watcher is running.
    """

    __slots__ = (
        "_arrived",
        "_buffer",
        "_ended",
        "_gone",
        "_hold",
        "_receive",
        "_restore",
        "_scope",
        "_size",
        "_space",
        "body_timeout",
        "on_disconnect",
        "watching",
    )

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self._scope = scope
        self._receive = receive
        self._buffer: deque[Message] = deque()
        self._size = 0  # body bytes in the buffer
        self._arrived: anyio.Event | None = None  # a reader waits for the watcher
        self._space: anyio.Event | None = None  # the watcher waits for a reader
        # Set by the app's first read: until then the watcher leaves a 100-continue body unasked.
        self._hold: anyio.Event | None = anyio.Event() if _expects_continue(scope) else None
        self._ended = False  # the server delivered the end of the body (or the disconnect)
        self._gone = False  # the server delivered http.disconnect
        self._restore: tuple[_BodyReader, Receive] | None = None
        self.body_timeout: float | None = None
        self.on_disconnect: Callable[[], None] = _ignore
        self.watching = False

    # --- the app's side ---------------------------------------------------------------------

    async def __call__(self) -> Message:
        """The next message, in the order the server sent it."""
        hold = self._hold
        if hold is not None:
            self._hold = None
            hold.set()
        while True:
            if self._buffer:
                # No checkpoint before returning: a poll in a cancelled scope
                # (request.is_disconnected()) must get what is already here.
                message = self._buffer.popleft()
                self._size -= _body_size(message)
                space = self._space
                if space is not None:
                    self._space = None
                    space.set()
                return message
            if self._gone:
                # SPEC: once the client is gone, every later receive() says so.
                return dict(_DISCONNECT)
            if not self.watching:
                return await self._read()
            arrived = self._arrived
            if arrived is None:
                arrived = self._arrived = anyio.Event()
            await self._bounded(arrived.wait)

    async def _read(self) -> Message:
        """Read the server's ``receive`` directly (no watcher runs)."""
        message: Message = await self._bounded(self._receive)
        self._note(message)
        return message

    async def _bounded(self, wait: Callable[[], Awaitable[Any]]) -> Any:
        """Await ``wait()``, within ``body_timeout`` while the body has not ended."""
        timeout = self.body_timeout
        if timeout is None or self._ended:
            return await wait()
        with anyio.move_on_after(timeout):
            return await wait()
        # Only our own deadline lands here: any other cancellation propagates.
        raise self._body_timed_out(timeout)

    def _body_timed_out(self, timeout: float) -> HTTPException:
        scope = self._scope
        logger.warning(
            "%s %s: no request body data for %gs (body_timeout): answered 408.",
            scope.get("method"),
            scope.get("path"),
            timeout,
        )
        # SPEC: RFC 9110 15.5.9, a 408 closes the connection (the rest of the body is unread).
        return HTTPException(
            408,
            detail=f"The request body stopped arriving for {timeout:g} seconds.",
            headers={"Connection": "close"},
        )

    def _note(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "http.request":
            if not message.get("more_body", False):
                self._ended = True
        elif kind == "http.disconnect":
            self._ended = self._gone = True

    # --- the watcher ------------------------------------------------------------------------

    def start_watching(self, group: anyio.abc.TaskGroup) -> None:
        """Start the watcher in ``group``; from now on only the watcher reads the server."""
        # Set before the task runs: a read made before its first step waits for it rather than
        # calling the server's receive beside it.
        self.watching = True
        group.start_soon(self._watch)

    async def _watch(self) -> None:
        """Read the server's ``receive`` into the buffer until ``http.disconnect`` arrives."""
        try:
            hold = self._hold
            if hold is not None:
                await hold.wait()
            while not self._gone:
                while self._size > _READ_AHEAD:
                    # SECURITY: the buffer never holds much more unread body than this; the
                    # watcher waits for the app to take some before reading more.
                    space = self._space = anyio.Event()
                    await space.wait()
                message = await self._receive()
                self._note(message)
                self._buffer.append(message)
                self._size += _body_size(message)
                self._wake()
            self.on_disconnect()
        finally:
            self.watching = False
            self._wake()  # a reader waiting for us reads the server's receive itself

    def _wake(self) -> None:
        arrived = self._arrived
        if arrived is not None:
            self._arrived = None
            arrived.set()

    # --- sharing the scope's body reader ----------------------------------------------------

    def attach(self, receive: Receive) -> None:
        """Let the scope's body reader read through the inbox while the app runs.

        ``receive`` is the callable the inbox stands for. A ``Request`` built over the scope with
        it shares the scope's body reader (the body read by a middleware before); that reader
        would otherwise call the server's ``receive`` beside the watcher.
        """
        reader = self._scope.get(_BODY_KEY)
        if isinstance(reader, _BodyReader) and reader.receive == receive:
            self._restore = reader, reader.receive
            reader.receive = self

    def detach(self) -> None:
        """The app has returned: give the scope's body reader back its ``receive``, with what
        the watcher read and nobody took, so a reader after the app still gets every message."""
        restore = self._restore
        if restore is not None and restore[0].receive is self:
            restore[0].receive = restore[1]
        scope = self._scope
        reader = scope.get(_BODY_KEY)
        if isinstance(reader, _BodyReader) and reader.receive is self:
            reader.receive = self._receive  # created over the inbox, by the app
        if not self._buffer:
            return
        if not isinstance(reader, _BodyReader) or not (
            reader.receive == self._receive or (restore is not None and reader is restore[0])
        ):
            reader = scope[_BODY_KEY] = _BodyReader(self._receive)
        buffer = self._buffer
        while buffer:
            # Kept as is_disconnected() keeps what it takes: the next read takes these first.
            message = buffer.popleft()
            reader.pending.append(message)
            reader.pending_size += _body_size(message) + 1
            if message.get("type") == "http.disconnect":
                reader.disconnected = True
        self._size = 0
