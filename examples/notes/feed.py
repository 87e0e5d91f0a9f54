"""The live feed: every change to the notes, broadcast to the connected clients as SSE events.

Each subscriber gets its own bounded anyio memory stream. Publishing never waits: a subscriber
whose stream is full (a client that stopped reading) is dropped, its event stream ends, and the
browser's ``EventSource`` reconnects. The feed lives in one process: under several workers each
worker has its own (a shared broker, such as Redis pub/sub, would carry changes between them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from microasgi.responses import ServerSentEvent

__all__ = ["Feed"]


class Feed:
    """A broadcaster of change events.

    Args:
        max_subscribers: the most clients subscribed at once (``accepting`` is false beyond it).
        buffer: the events held for one subscriber that has not read them yet.
    """

    def __init__(self, max_subscribers: int = 100, buffer: int = 32) -> None:
        self.max_subscribers = max_subscribers
        self.buffer = buffer
        self._subscribers: set[MemoryObjectSendStream[ServerSentEvent]] = set()
        self._last_id = 0
        self._closed = False

    @property
    def subscribers(self) -> int:
        """How many clients are subscribed."""
        return len(self._subscribers)

    @property
    def accepting(self) -> bool:
        """Whether a new subscriber would be taken."""
        return not self._closed and len(self._subscribers) < self.max_subscribers

    @contextmanager
    def subscribe(self) -> Iterator[MemoryObjectReceiveStream[ServerSentEvent]]:
        """Subscribe for the duration of the block; iterate the stream to get the events.

        When the feed is closed or full the stream is already closed, so iterating it ends at once.
        """
        send, receive = anyio.create_memory_object_stream[ServerSentEvent](self.buffer)
        if self.accepting:
            self._subscribers.add(send)
        else:
            send.close()
        try:
            with receive:
                yield receive
        finally:
            self._subscribers.discard(send)
            send.close()

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send the event ``kind`` with ``data`` (as JSON) to every subscriber, without waiting."""
        self._last_id += 1
        event = ServerSentEvent(data=json.dumps(data), event=kind, id=self._last_id)
        for send in list(self._subscribers):
            try:
                send.send_nowait(event)
            except anyio.WouldBlock:
                # SECURITY: a client that does not read cannot make the server buffer events
                # without bound: it is dropped, and its stream ends.
                self._subscribers.discard(send)
                send.close()

    def close(self) -> None:
        """End every subscriber's stream and refuse new ones (at shutdown)."""
        self._closed = True
        for send in self._subscribers:
            send.close()
        self._subscribers.clear()
