"""The drain primitive: a flag raised from anywhere, waking waiters on their own event loops."""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
import weakref
from types import FrameType
from typing import cast

import anyio
import anyio.to_thread
import pytest

import microasgi._asgi.drain as drain_module
from microasgi._asgi.drain import (
    Drain,
    _Loop,
    closing_send,
    current_asyncio_task,
    current_loop,
    drain_of,
)
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

    def _on_drain(self) -> None:
        self.closed.set()


def _held(drain: Drain) -> int:
    return sum(len(group.held) for group in drain._groups.values())


async def test_held_connections_are_told_on_their_loop() -> None:
    drain = Drain()
    closer = _Closer()
    drain.hold(closer)
    assert _held(drain) == 1
    drain.begin()
    with anyio.fail_after(5):
        await closer.closed.wait()
    assert _held(drain) == 0


@pytest.mark.parametrize("weakly", [False, True], ids=["strongly", "weakly"])
async def test_a_connection_held_once_draining_is_told_at_once(weakly: bool) -> None:
    # begin() swept before this connection was held: holding it asks the loop for a sweep.
    drain = Drain()
    drain.begin()
    closer = _Closer()
    if weakly:
        drain.hold_weakly(closer)
    else:
        drain.hold(closer)
    with anyio.fail_after(5):
        await closer.closed.wait()
    assert _held(drain) == 0


@pytest.mark.parametrize("weakly", [False, True], ids=["strongly", "weakly"])
async def test_a_connection_let_go_is_not_closed(weakly: bool) -> None:
    drain = Drain()
    closer, other = _Closer(), _Closer()
    if weakly:
        held, entry = drain.hold_weakly(closer)
        drain.hold_weakly(other)
        held.discard(entry)
    else:
        drain.hold(other)
        drain.hold(closer).discard(closer)
    drain.begin()
    with anyio.fail_after(5):
        await other.closed.wait()
    assert not closer.closed.is_set()


async def test_connections_held_weakly_go_with_their_holder() -> None:
    drain = Drain()
    closer = _Closer()
    drain.hold_weakly(closer)
    del closer
    gc.collect()
    assert _held(drain) == 0
    drain.begin()


async def test_connections_held_strongly_stay_until_let_go() -> None:
    # Whoever holds strongly promises to let go; until then the drain keeps the holder alive.
    drain = Drain()
    closer = _Closer()
    probe = weakref.ref(closer)
    drain.hold(closer)
    del closer
    gc.collect()
    assert _held(drain) == 1
    drain.begin()
    with anyio.fail_after(5):
        await cast(_Closer, probe()).closed.wait()
    assert _held(drain) == 0


async def test_a_connection_collected_during_the_sweep_is_skipped() -> None:
    # The sweep runs Python code (starting tasks), so the collector may take a connection
    # between the snapshot of the set and its turn: simulated with an entry already dead.
    drain = Drain()
    closer = _Closer()
    held, _ = drain.hold_weakly(closer)
    gone = _Closer()
    dead = weakref.ref(gone)
    hash(dead)  # as the set did while it was alive
    del gone
    gc.collect()
    held.add(dead)
    drain.begin()
    with anyio.fail_after(5):
        await closer.closed.wait()
    assert not held


async def test_the_running_loop_is_found_before_any_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The C lookup of the running loop is bound by whichever call comes first.
    monkeypatch.setattr(drain_module, "_running_loop", None)
    task = current_asyncio_task()
    assert (task is None) == (current_loop().raw is not _running_loop_now())
    monkeypatch.setattr(drain_module, "_running_loop", None)
    closer = _Closer()
    drain = Drain()
    drain.hold(closer)
    assert _held(drain) == 1


def _running_loop_now() -> object:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def test_each_loop_holds_its_own_connections() -> None:
    # Connections held on loops that have ended are forgotten when a new loop holds one.
    drain = Drain()
    kept: list[_Closer] = []

    async def hold_one() -> None:
        closer = _Closer()
        kept.append(closer)
        drain.hold_weakly(closer)
        drain.hold_weakly(closer)  # the same loop again: the same group

    anyio.run(hold_one)
    assert len(drain._groups) == 1
    kept.clear()  # let go: its group is empty now
    gc.collect()
    anyio.run(hold_one)
    assert len(drain._groups) == 1
    anyio.run(hold_one)  # the previous loop's connection is still alive: both groups stay
    assert len(drain._groups) == 2


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
