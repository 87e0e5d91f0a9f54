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
- open connections (a websocket closes itself with 1012) and event streams: held in a plain set
  per loop, each closed in a task of its own, since sending needs a task and the connection's
  own task may be blocked in ``receive()``.

Nothing here runs per request: a request that never waits for the drain never registers, and
holding a websocket or a stream costs a set insertion and its removal. They are held strongly
where the code that opened them lets them go however they end (a route's ``finally``); weakly
otherwise (a ``WebSocket`` an ASGI app of its own made), at the price of a weak reference.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

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

    __slots__ = ("_call", "raw")

    def __init__(self, call: Callable[[_Callback], object], raw: object = None) -> None:
        self._call = call
        self.raw = raw
        """The asyncio loop, or trio's token."""

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
    running = _running_loop
    if running is None:
        running = _bind_running_loop()
    raw: Any = running()
    on_trio = raw is None
    if on_trio:
        import trio

        raw = trio.lowlevel.current_trio_token()
    last = _last
    if last is not None and last[0] is raw:
        return last[1]
    loop = _Loop(raw.run_sync_soon if on_trio else raw.call_soon_threadsafe, raw)
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


def current_asyncio_task() -> asyncio.Task[Any] | None:
    """The asyncio task running the caller, or None under trio."""
    running = _running_loop
    if running is None:
        running = _bind_running_loop()
    loop = running()
    if loop is None:
        return None  # trio
    return _current_task(loop)


# PERF: asyncio._get_running_loop (the loop, or None: one C call, where get_running_loop raises
# under trio and an import statement costs thousands of instructions), bound on first use so
# that importing microasgi does not load asyncio.
_running_loop: Callable[[], object] | None = None
_current_task: Callable[[Any], asyncio.Task[Any] | None]


def _bind_running_loop() -> Callable[[], object]:
    global _current_task, _running_loop
    import asyncio

    _current_task = asyncio.current_task
    _running_loop = asyncio._get_running_loop
    return _running_loop


class _Holdable(Protocol):
    """What the drain holds: an open connection, or a stream, told when the drain begins."""

    def _on_drain(self) -> None: ...


class _Group:
    """The connections and streams a drain holds on one event loop."""

    __slots__ = ("held", "loop")

    def __init__(self, loop: _Loop) -> None:
        self.loop = loop
        # Holders, or weak references to them (see Drain.hold).
        self.held: set[Any] = set()

    def sweep(self) -> None:
        """On the loop, when the drain begins: tell each one still held, and let it go."""
        held = self.held
        for entry in tuple(held):
            held.discard(entry)
            holder = entry() if type(entry) is weakref.ReferenceType else entry
            if holder is not None:
                holder._on_drain()


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

    __slots__ = ("_children", "_groups", "_last", "_listeners", "draining")

    def __init__(self) -> None:
        # Whether the drain has begun: a plain attribute, so the application's check on each
        # request is one attribute read. Set by begin() and reset() only.
        self.draining = False
        self._children: list[Drain] = []
        # key -> (the loop the listener lives on, what to run there). Keys are fresh objects;
        # registering and removing are single dict operations, atomic under the GIL.
        self._listeners: dict[object, tuple[_Loop, _Callback]] = {}
        # The open connections to close, per loop (by the asyncio loop or trio token), and the
        # group used last (a worker serves them all from one loop).
        self._groups: dict[object, _Group] = {}
        self._last: _Group | None = None

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
        for group in tuple(self._groups.values()):
            if group.held:
                group.loop.call_soon(group.sweep)

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

    def hold(self, holder: _Holdable) -> set[Any]:
        """Call ``holder._on_drain()`` on the current loop (outside any task: it may set events,
        cancel scopes and start tasks, not await) when the drain begins, unless let go first.

        Held strongly: returns the set it is held in, and ``held.discard(holder)`` lets it go
        (a websocket that closes, a stream that ends). The caller must let go however it ends,
        in a ``finally``; one that cannot promise that holds weakly (``hold_weakly``).
        """
        # PERF: once per websocket or stream without pings, so no Python call on the common
        # path: the running asyncio loop (a C call) finds the last loop's set. No weak reference:
        # its creation and callback were half the cost of holding (docs/performance.md).
        running = _running_loop
        if running is None:
            running = _bind_running_loop()
        raw = running()
        group = self._last
        if group is None or group.loop.raw is not raw or raw is None:
            group = self._group()
        held = group.held
        held.add(holder)
        if self.draining:
            # Begun before we held it: begin() may have missed it (see _listen).
            group.loop.call_soon(group.sweep)
        return held

    def hold_weakly(self, holder: _Holdable) -> tuple[set[Any], weakref.ref[Any]]:
        """``hold`` through a weak reference, gone with ``holder``: for a caller that cannot
        promise to let go. Returns the set and the entry: ``held.discard(entry)`` lets go."""
        group = self._group()
        held = group.held
        entry = weakref.ref(holder, held.discard)
        held.add(entry)
        if self.draining:
            group.loop.call_soon(group.sweep)  # as in hold()
        return held, entry

    def _group(self) -> _Group:
        """The connections held on the current loop (trio's, or a loop not seen last)."""
        loop = current_loop()
        groups = self._groups
        group = groups.get(loop.raw)
        if group is None:
            # A new loop: forget those left with nothing open (loops that have ended).
            for raw, old in tuple(groups.items()):
                if not old.held:
                    del groups[raw]
            group = groups[loop.raw] = _Group(loop)
        self._last = group
        return group

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
