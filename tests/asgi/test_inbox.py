"""The connection's receive buffer: a watcher reads the server's receive, every reader gets every
message in order, the read-ahead is bounded, and body waits are bounded by body_timeout."""

from __future__ import annotations

from collections import deque
from typing import Any

import anyio
import pytest

from microasgi._asgi.body import _BODY_KEY, _BodyReader
from microasgi._asgi.inbox import _READ_AHEAD, _Inbox
from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.types import Message, Scope


class Server:
    """The server's side of one connection, driven by the test: ``push`` makes a message
    arrive; ``receive`` waits for one, as a server's does (cancellation-safe)."""

    def __init__(self, *messages: Message) -> None:
        self.queue: deque[Message] = deque(messages)
        self.arrived = anyio.Event()
        self.taken: list[Message] = []

    def push(self, *messages: Message) -> None:
        self.queue.extend(messages)
        self.arrived.set()

    async def receive(self) -> Message:
        while not self.queue:
            self.arrived = anyio.Event()
            await self.arrived.wait()
        message = self.queue.popleft()
        self.taken.append(message)
        return message


def chunk(body: bytes, more: bool = True) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


DISCONNECT: Message = {"type": "http.disconnect"}


def http_scope(**extra: Any) -> Scope:
    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    scope.update(extra)
    return scope


async def wait_until(predicate: Any) -> None:
    """Let the other tasks run until ``predicate()`` holds (bounded by the test's fail_after)."""
    while not predicate():
        await anyio.lowlevel.checkpoint()


async def test_without_a_watcher_it_reads_the_server_directly() -> None:
    server = Server(chunk(b"a"), chunk(b"b", more=False), DISCONNECT)
    inbox = _Inbox(http_scope(), server.receive)
    got = [await inbox() for _ in range(3)]
    assert got == server.taken
    # SPEC: once the client is gone, every later receive says so, without asking the server.
    assert await inbox() == DISCONNECT
    assert len(server.taken) == 3


async def test_the_watcher_hands_every_message_over_in_order() -> None:
    server = Server()
    inbox = _Inbox(http_scope(), server.receive)
    left: list[bool] = []
    inbox.on_disconnect = lambda: left.append(True)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            inbox.start_watching(group)
            server.push(chunk(b"a"), chunk(b"b"))
            assert await inbox() == chunk(b"a")
            assert await inbox() == chunk(b"b")
            server.push(chunk(b"c", more=False), DISCONNECT)
            assert await inbox() == chunk(b"c", more=False)
            assert await inbox() == DISCONNECT
    assert left == [True]  # the watcher reported the disconnect and ended
    assert not inbox.watching
    assert await inbox() == DISCONNECT


async def test_a_poll_gets_what_the_watcher_already_holds() -> None:
    # request.is_disconnected() receives in a cancelled scope: a buffered message must come back
    # without a checkpoint, and an empty buffer must answer nothing, losing nothing.
    server = Server()
    scope = http_scope()
    inbox = _Inbox(scope, server.receive)
    request = Request(scope, inbox)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            inbox.start_watching(group)
            assert not await request.is_disconnected()
            server.push(chunk(b"hello", more=False), DISCONNECT)
            await wait_until(lambda: not inbox.watching)
            assert not await request.is_disconnected()  # a poll takes one message: the body
            assert await request.is_disconnected()
            assert await request.body() == b"hello"  # kept for the reader


async def test_the_read_ahead_is_bounded() -> None:
    piece = b"x" * 8192
    count = 4 * _READ_AHEAD // len(piece)
    server = Server(*[chunk(piece) for _ in range(count)], chunk(b"", more=False))
    inbox = _Inbox(http_scope(), server.receive)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            inbox.start_watching(group)
            await wait_until(lambda: len(server.taken) > _READ_AHEAD // len(piece))
            for _ in range(10):
                await anyio.lowlevel.checkpoint()
            # SECURITY: no reader took anything: the watcher stopped just past the read-ahead.
            assert len(server.taken) == _READ_AHEAD // len(piece) + 1
            body = b""
            while True:
                message = await inbox()
                body += message["body"]
                if not message["more_body"]:
                    break
            group.cancel_scope.cancel()
    assert body == piece * count


async def test_a_100_continue_body_waits_for_the_apps_first_read() -> None:
    server = Server(chunk(b"data", more=False))
    scope = http_scope(headers=[(b"host", b"x"), (b"expect", b"100-Continue")])
    inbox = _Inbox(scope, server.receive)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            inbox.start_watching(group)
            for _ in range(10):
                await anyio.lowlevel.checkpoint()
            assert server.taken == []  # the server has not been asked: no 100 Continue yet
            assert await inbox() == chunk(b"data", more=False)
            group.cancel_scope.cancel()


@pytest.mark.parametrize("watching", [False, True])
async def test_a_stalled_body_raises_408(watching: bool, caplog: pytest.LogCaptureFixture) -> None:
    server = Server(chunk(b"a"))
    inbox = _Inbox(http_scope(), server.receive)
    inbox.body_timeout = 0.05
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            if watching:
                inbox.start_watching(group)
                await wait_until(lambda: inbox.watching)
            assert await inbox() == chunk(b"a")
            with pytest.raises(HTTPException) as raised:
                await inbox()
            group.cancel_scope.cancel()
    assert raised.value.status_code == 408
    assert raised.value.headers == {"Connection": "close"}
    assert "no request body data for 0.05s (body_timeout): answered 408" in caplog.text


@pytest.mark.parametrize("watching", [False, True])
async def test_after_the_body_the_wait_is_not_bounded(watching: bool) -> None:
    # Waiting for http.disconnect (a streaming response's listener) is not a body wait.
    server = Server(chunk(b"a", more=False))
    inbox = _Inbox(http_scope(), server.receive)
    inbox.body_timeout = 0.01
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            if watching:
                inbox.start_watching(group)
            assert await inbox() == chunk(b"a", more=False)

            async def disconnect_later() -> None:
                await anyio.sleep(0.1)  # time passing, past body_timeout: not a synchronisation
                server.push(DISCONNECT)

            group.start_soon(disconnect_later)
            assert await inbox() == DISCONNECT


async def test_another_cancellation_is_not_a_body_timeout() -> None:
    server = Server()
    inbox = _Inbox(http_scope(), server.receive)
    inbox.body_timeout = 10
    with anyio.CancelScope() as scope:
        scope.cancel()
        await inbox()
    assert scope.cancelled_caught


async def test_attach_shares_the_scopes_reader_and_detach_gives_it_back() -> None:
    server = Server(chunk(b"abc", more=False))
    scope = http_scope()
    outer = Request(scope, server.receive)
    reader = outer._body_reader()
    inbox = _Inbox(scope, server.receive)
    inbox.attach(server.receive)
    assert reader.receive is inbox
    inner = Request(scope, inbox)
    assert inner._body_reader() is reader  # the endpoint shares the middleware's reader
    assert await inner.body() == b"abc"
    inbox.detach()
    assert reader.receive == server.receive
    assert await outer.body() == b"abc"


async def test_detach_hands_unread_messages_to_the_scopes_reader() -> None:
    server = Server(chunk(b"ab"), chunk(b"c", more=False), DISCONNECT)
    scope = http_scope()
    inbox = _Inbox(scope, server.receive)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            inbox.start_watching(group)  # reads everything, up to the disconnect
    inbox.detach()  # the app never read: a reader after it still gets every message
    reader = scope[_BODY_KEY]
    assert isinstance(reader, _BodyReader)
    assert reader.disconnected
    request = Request(scope, server.receive)
    assert [c async for c in request.stream()] == [b"ab", b"c", b""]
    assert await request.is_disconnected()


async def test_detach_rebinds_a_reader_the_app_made_over_the_inbox() -> None:
    server = Server(chunk(b"ab", more=False), DISCONNECT)
    scope = http_scope()
    inbox = _Inbox(scope, server.receive)
    inner = Request(scope, inbox)
    assert await inner.body() == b"ab"
    inbox.detach()
    # A middleware reading the body after the app shares what the endpoint read.
    assert await Request(scope, server.receive).body() == b"ab"
    assert server.taken == [chunk(b"ab", more=False)]


async def test_detach_with_nothing_left_changes_nothing() -> None:
    scope = http_scope()
    inbox = _Inbox(scope, Server().receive)
    inbox.detach()
    assert _BODY_KEY not in scope


async def test_detach_keeps_a_reader_over_the_same_receive() -> None:
    server = Server(chunk(b"a", more=False), DISCONNECT)
    scope = http_scope()
    reader = Request(scope, server.receive)._body_reader()
    inbox = _Inbox(scope, server.receive)
    inbox.attach(Server().receive)  # the reader is over another receive: left alone
    assert reader.receive == server.receive
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            inbox.start_watching(group)
    inbox.detach()
    assert scope[_BODY_KEY] is reader
    assert list(reader.pending) == [chunk(b"a", more=False), DISCONNECT]


async def test_readers_waiting_together_each_get_a_message() -> None:
    server = Server()
    inbox = _Inbox(http_scope(), server.receive)
    got: list[Message] = []

    async def read() -> None:
        got.append(await inbox())

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            inbox.start_watching(group)
            group.start_soon(read)
            group.start_soon(read)
            await wait_until(lambda: inbox._arrived is not None)
            for _ in range(5):
                await anyio.lowlevel.checkpoint()
            server.push(chunk(b"a"), chunk(b"b", more=False), DISCONNECT)
            await wait_until(lambda: len(got) == 2)
    assert sorted(m["body"] for m in got) == [b"a", b"b"]


async def test_other_messages_pass_through() -> None:
    other: Message = {"type": "http.unknown"}
    server = Server(other, chunk(b"", more=False))
    inbox = _Inbox(http_scope(), server.receive)
    assert await inbox() == other
    assert await inbox() == chunk(b"", more=False)
