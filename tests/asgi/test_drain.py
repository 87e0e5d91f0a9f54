"""The drain primitive: a flag raised from anywhere, waking waiters on their own event loops."""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
from types import FrameType

import anyio
import anyio.to_thread
import pytest

from microasgi._asgi.drain import Drain, _Loop, closing_send, drain_of
from microasgi.types import Message


def test_begin_is_idempotent_and_reset_ends_it() -> None:
    drain = Drain()
    assert not _draining(drain)
    drain.begin()
    drain.begin()
    assert _draining(drain)
    drain.reset()
    assert not _draining(drain)


def _draining(drain: Drain) -> bool:
    return drain.draining  # read after a call: mypy keeps the narrowing of an attribute


async def test_wait_returns_once_begun_from_another_thread() -> None:
    drain = Drain()
    woken = anyio.Event()

    async def waiter() -> None:
        await drain.wait()
        woken.set()

    async with anyio.create_task_group() as group:
        group.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        assert not woken.is_set()
        await anyio.to_thread.run_sync(drain.begin)
        with anyio.fail_after(5):
            await woken.wait()
    assert drain._listeners == {}  # the waiter removed itself


async def test_wait_returns_at_once_when_already_draining() -> None:
    drain = Drain()
    drain.begin()
    with anyio.fail_after(5):
        await drain.wait()


async def test_begin_from_a_signal_handler_wakes_the_loop() -> None:
    drain = Drain()

    def handler(number: int, frame: FrameType | None) -> None:
        drain.begin()

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(drain.wait)
            await anyio.wait_all_tasks_blocked()
            signal.raise_signal(signal.SIGUSR1)
            with anyio.fail_after(5):
                await drain.wait()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert drain.draining


async def test_children_begin_with_their_parent() -> None:
    parent, child, late = Drain(), Drain(), Drain()
    parent.adopt(child)
    parent.adopt(child)  # once only
    parent.adopt(parent)  # never itself
    assert parent._children == [child]
    parent.begin()
    assert child.draining
    parent.adopt(late)  # adopted after the drain began: begins at once
    assert late.draining


async def test_callbacks_run_on_the_loop_and_can_be_removed() -> None:
    drain = Drain()
    called: list[str] = []
    done = anyio.Event()
    key = drain.add_callback(lambda: called.append("removed"))
    drain.remove(key)
    drain.remove(key)  # no error the second time

    def kept() -> None:
        called.append("kept")
        done.set()

    drain.add_callback(kept)
    drain.begin()
    assert called == []  # scheduled on the loop, not run inside begin()
    with anyio.fail_after(5):
        await done.wait()
    assert called == ["kept"]
    # Registered once the drain has begun: still called, soon.
    late = anyio.Event()
    drain.add_callback(late.set)
    with anyio.fail_after(5):
        await late.wait()


class _Closer:
    def __init__(self) -> None:
        self.closed = anyio.Event()

    async def close(self) -> None:
        self.closed.set()


async def test_tasks_run_in_a_task_of_their_own() -> None:
    drain = Drain()
    closer = _Closer()
    drain.add_task(closer.close)
    drain.begin()
    with anyio.fail_after(5):
        await closer.closed.wait()
    assert drain._listeners == {}


async def test_tasks_are_held_weakly() -> None:
    drain = Drain()
    closer = _Closer()
    drain.add_task(closer.close)
    assert len(drain._listeners) == 1
    del closer
    gc.collect()
    assert drain._listeners == {}
    drain.begin()


async def test_a_task_whose_object_went_before_its_turn_is_skipped() -> None:
    drain = Drain()
    closer = _Closer()
    drain.add_task(closer.close)
    ran = anyio.Event()
    drain.begin()  # the task's start is scheduled on the loop ...
    del closer  # ... and its object goes before the loop gets to it
    gc.collect()
    drain.add_callback(ran.set)  # scheduled after it
    with anyio.fail_after(5):
        await ran.wait()


def test_a_closed_loop_is_skipped() -> None:
    loop = asyncio.new_event_loop()
    loop.close()
    _Loop(loop.call_soon_threadsafe).call_soon(lambda: None)  # no error: nothing to wake


def test_a_waiter_whose_loop_has_ended_does_not_break_begin() -> None:
    drain = Drain()

    async def register() -> None:
        drain.add_callback(lambda: None)

    thread = threading.Thread(target=anyio.run, args=(register,))
    thread.start()
    thread.join()
    drain.begin()  # its loop is gone: skipped quietly
    assert drain.draining


class _App:
    def __init__(self, drain: object) -> None:
        self._drain = drain


def test_drain_of_reads_the_scope_app() -> None:
    drain = Drain()
    assert drain_of({"app": _App(drain)}) is drain
    assert drain_of({"app": _App("not a drain")}) is None
    assert drain_of({}) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], [(b"connection", b"close")]),
        (
            [(b"content-type", b"text/plain"), (b"Connection", b"keep-alive")],
            [(b"content-type", b"text/plain"), (b"connection", b"close")],
        ),
    ],
)
async def test_closing_send_says_connection_close(
    headers: list[tuple[bytes, bytes]], expected: list[tuple[bytes, bytes]]
) -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    start: Message = {"type": "http.response.start", "status": 200, "headers": headers}
    wrapped = closing_send(send)
    await wrapped(start)
    await wrapped({"type": "http.response.body", "body": b"x"})
    assert sent[0]["headers"] == expected
    assert start["headers"] is headers  # the app's message is left as it was
    assert sent[1] == {"type": "http.response.body", "body": b"x"}
