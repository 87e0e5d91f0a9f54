"""The drain: an application's signal that it is about to stop, raised from anywhere.

``MicroASGI.begin_drain()`` raises it from a request, from another thread, or from a signal
handler, which runs between two bytecodes of the main thread, possibly in the middle of the
event loop's own work. So raising it takes no lock and touches no event loop directly: it sets a
flag, then asks each event loop where something waits for the drain to run the wake-up itself,
through the loop's thread-safe and signal-safe scheduling call (asyncio's
``loop.call_soon_threadsafe``, trio's ``TrioToken.run_sync_soon``).

Three kinds of things wait, each registered with the loop it lives on:

- ``Drain.wait()`` (``app.wait_for_drain()``, ``websocket.wait_for_drain()``): an event set on
  its loop;
- callbacks (an event stream cancels its producer): called on their loop;
- coroutines (a websocket closes itself with 1012): each run as a task of its own on its loop,
  since sending needs a task and the connection's own task may be blocked in ``receive()``.

Nothing here runs per request: a request that never waits for the drain never registers.
"""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

from microasgi.types import Message, Scope, Send

if TYPE_CHECKING:
    import asyncio

logger = logging.getLogger("microasgi")

_Callback = Callable[[], None]
# Detached tasks of the asyncio loops, kept until done (the loop holds only weak references).
_TASKS: set[asyncio.Task[None]] = set()


class _Loop:
    """A running event loop: schedule a call on it from anywhere, or start a task on it."""

    __slots__ = ("_call",)

    def __init__(self, call: Callable[[_Callback], object]) -> None:
        self._call = call

    def call_soon(self, callback: _Callback) -> None:
        """Run ``callback`` on the loop soon; safe from any thread and from a signal handler."""
        try:
            self._call(callback)
        except RuntimeError:
            pass  # The loop has closed (trio's RunFinishedError is a RuntimeError too).


# PERF: the loop last asked about, with its _Loop: a worker runs one loop, so the listeners
# registered by its connections share one object. Replaced whole, so threads never see half.
_last: tuple[object, _Loop] | None = None


def current_loop() -> _Loop:
    """The loop running the calling task (asyncio, or trio)."""
    global _last
    # PERF: imported here, so that importing microasgi does not load asyncio (a trio app).
    import asyncio

    raw: Any
    try:
        raw = asyncio.get_running_loop()
    except RuntimeError:
        import trio

        raw = trio.lowlevel.current_trio_token()
    last = _last
    if last is not None and last[0] is raw:
        return last[1]
    if isinstance(raw, asyncio.AbstractEventLoop):
        loop = _Loop(raw.call_soon_threadsafe)
    else:
        loop = _Loop(raw.run_sync_soon)
    _last = (raw, loop)
    return loop


def spawn(coroutine: Callable[[], Awaitable[None]]) -> None:
    """Run ``coroutine()`` as a detached task of the current loop; it must not raise."""
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        import trio

        # A system task: cancelled when the run ends; it must not raise (it cannot: _guarded).
        trio.lowlevel.spawn_system_task(_guarded, coroutine)
        return
    task = loop.create_task(_guarded(coroutine))
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


async def _guarded(coroutine: Callable[[], Awaitable[None]]) -> None:
    try:
        await coroutine()
    except Exception:  # pragma: no cover - the coroutines we run catch their own errors
        logger.exception("A drain task failed.")


class Drain:
    """Whether an application is draining, and what to wake when it starts to.

    ``begin()`` is synchronous, idempotent, and safe from any thread and from a signal handler.
    A drain adopted by another (a mounted application's, by its parent's) begins with it.
    """

    __slots__ = ("_children", "_listeners", "draining")

    def __init__(self) -> None:
        # Whether the drain has begun: a plain attribute, so the application's check on each
        # request is one attribute read. Set by begin() and reset() only.
        self.draining = False
        self._children: list[Drain] = []
        # key -> (the loop the listener lives on, what to run there). Keys are fresh objects;
        # registering and removing are single dict operations, atomic under the GIL.
        self._listeners: dict[object, tuple[_Loop, _Callback]] = {}

    def begin(self) -> None:
        """Begin draining: wake every waiter, on its own loop. Does nothing the second time."""
        if self.draining:
            return
        # The flag first, then the snapshot of listeners: a listener registered after the
        # snapshot checks the flag after registering, and so sees it (see _listen).
        self.draining = True
        for child in tuple(self._children):
            child.begin()
        for loop, callback in tuple(self._listeners.values()):
            loop.call_soon(callback)

    def reset(self) -> None:
        """End the drain: a new lifespan starts (the same application served again)."""
        self.draining = False

    def adopt(self, child: Drain) -> None:
        """Make ``child`` begin when this drain begins (at once if it already has)."""
        if child is not self and all(child is not known for known in self._children):
            self._children.append(child)
        if self.draining:
            child.begin()

    def _listen(self, callback: _Callback, key: object | None = None) -> object:
        key = object() if key is None else key
        loop = current_loop()
        self._listeners[key] = (loop, callback)
        if self.draining:
            # Begun before we registered: begin() may have missed us, so wake ourselves (on the
            # loop, later, as begin() would: the caller is still setting up).
            loop.call_soon(callback)
        return key

    def add_callback(self, callback: _Callback) -> object:
        """Call ``callback`` on the current loop when the drain begins (soon, if it has).

        Returns a key for ``remove``. ``callback`` runs on the loop, outside any task: it may
        set events and cancel scopes, not await.
        """
        return self._listen(callback)

    def remove(self, key: object) -> None:
        """Forget the listener registered under ``key`` (no error if it is gone)."""
        self._listeners.pop(key, None)

    def add_task(self, method: Callable[[], Awaitable[None]]) -> object:
        """Run the bound ``method()`` in a task of the current loop when the drain begins.

        Held weakly: once the object it is bound to is gone, so is the listener. Returns a key
        for ``remove`` (a websocket forgets its listener when it closes).
        """
        bound: Any = method
        # PERF: one weak reference per listener, which is also its key; its callback forgets
        # the listener when the object goes.
        key = weakref.ref(bound.__self__, self._forget)
        self._listen(functools.partial(self._run_task, key, bound.__func__), key)
        return key

    def _forget(self, key: object) -> None:
        self._listeners.pop(key, None)

    def _run_task(self, key: weakref.ref[Any], func: Callable[[Any], Awaitable[None]]) -> None:
        self._listeners.pop(key, None)
        owner = key()
        if owner is not None:
            spawn(functools.partial(func, owner))

    async def wait(self) -> None:
        """Return once the drain has begun (at once, after a checkpoint, if it has)."""
        if self.draining:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        key = self._listen(event.set)
        try:
            await event.wait()
        finally:
            self.remove(key)


DRAIN_KEY = "microasgi.drain"
"""The lifespan scope key under which an application hands its drain to the apps mounted in it,
whose lifespans its router drives: their drains begin with it."""


def drain_of(scope: Scope) -> Drain | None:
    """The drain of the application serving ``scope`` (``scope["app"]``), if it has one."""
    drain: Any = getattr(scope.get("app"), "_drain", None)
    return drain if isinstance(drain, Drain) else None


def closing_send(send: Send) -> Send:
    """Wrap ``send`` so that the response carries ``Connection: close`` (HTTP/1.x, draining).

    SPEC: RFC 9112 section 9.6: the client then closes the connection after this response
    instead of sending its next request on it, so a draining server is left with no idle
    keep-alive connection to wait for.
    """

    async def send_closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (name, value)
                for name, value in message.get("headers", ())
                if name.lower() != b"connection"
            ]
            headers.append((b"connection", b"close"))
            message = {**message, "headers": headers}
        await send(message)

    return send_closing
