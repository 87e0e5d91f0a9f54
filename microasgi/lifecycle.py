"""Production lifecycle: health endpoints, the drain, and background work the lifespan owns.

- ``readiness`` and ``liveness`` are endpoints to route where the orchestrator probes them
  (``Route("/readyz", readiness)``). Readiness answers 503 while the lifespan starts up and
  while the application drains, liveness 200 whenever the event loop gets to answer it.
- The drain (``app.begin_drain()``, the server's ``lifespan.shutdown.notice``, or the signals
  named in ``MicroASGI(drain_signals=...)``) tells long-lived connections to end, so that a
  server's graceful shutdown does not wait for them: event streams send a last event and end,
  websockets close with 1012, HTTP/1.1 responses carry ``Connection: close``.
- ``app.tasks`` (a ``SupervisedTasks``) runs work that must outlive a request in a task group the
  lifespan owns: errors are logged and reported, shutdown waits for the work (a bounded time),
  then cancels it.
"""

from __future__ import annotations

import enum
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Collection
from types import FrameType
from typing import Any

import anyio
import anyio.abc

from microasgi._asgi.concurrency import collapse_excgroups, is_async_callable
from microasgi._asgi.drain import DRAIN_KEY, Drain, _Loop, current_loop, spawn
from microasgi.concurrency import run_in_threadpool
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SupervisedTasks", "liveness", "readiness"]

logger = logging.getLogger("microasgi")

# Probes must see the answer of now, never a cache's.
_PROBE_HEADERS = {"cache-control": "no-store"}


async def readiness(request: Request) -> Response:
    """Answer 200 when the application takes traffic, 503 while it starts up or drains.

    An endpoint: ``Route("/readyz", readiness)``. It reads the state of ``request.app``:
    503 from the server's ``lifespan.startup`` until the startup completed, from the drain's
    beginning on, and after ``lifespan.shutdown``. An application that never received a
    lifespan event (a server without lifespan, such as daphne, or a parent framework that does
    not forward it) cannot know when it started, and answers 200 until it drains.
    """
    lifecycle = getattr(request.scope.get("app"), "_lifecycle", None)
    reason = lifecycle.not_ready() if isinstance(lifecycle, _Lifecycle) else None
    if reason is None:
        return PlainTextResponse("ready", headers=_PROBE_HEADERS)
    return PlainTextResponse(f"not ready: {reason}", status_code=503, headers=_PROBE_HEADERS)


async def liveness(request: Request) -> Response:
    """Answer 200: the process is alive as long as its event loop gets to answer this.

    An endpoint: ``Route("/livez", liveness)``. It does no work and reads no state, so it stays
    200 while the application drains (an orchestrator must not restart a pod that is stopping
    on purpose); a loop blocked by a busy endpoint does not answer in time, which the probe's
    timeout reports.
    """
    return PlainTextResponse("alive", headers=_PROBE_HEADERS)


# --- supervised background work ----------------------------------------------------------------


class _Run:
    """The task group of one lifespan, on its event loop, with the work running in it."""

    __slots__ = ("accepting", "group", "idle", "loop", "running", "scopes")

    def __init__(self, group: anyio.abc.TaskGroup) -> None:
        self.group = group
        self.loop: _Loop = current_loop()
        self.accepting = True
        self.running = 0
        self.scopes: set[anyio.CancelScope] = set()
        self.idle = anyio.Event()


class SupervisedTasks:
    """Work that outlives a request, run in a task group owned by the application's lifespan.

    ``app.tasks`` is one. ``app.tasks.start(func, *args, **kwargs)`` runs ``await func(*args,
    **kwargs)`` in the background, from an endpoint, the lifespan, another task or another
    thread, while the lifespan runs (between ``lifespan.startup`` and ``lifespan.shutdown``).

    - An exception from the work is logged through the ``microasgi`` logger and passed to the
      application's exception handler for ``Exception`` (or ``500``), if any, as
      ``handler(None, exc)``: there is no request. Other work goes on.
    - At shutdown (``lifespan.shutdown``, before the lifespan's own shutdown code), the work
      still running gets ``shutdown_timeout`` seconds to finish, then is cancelled (its
      ``finally`` blocks run); starting more is refused from then on.

    Args:
        shutdown_timeout: the seconds given to running work at shutdown before it is cancelled
            (``0``: cancelled at once; ``math.inf``: waited for).

    Raises:
        ValueError: ``shutdown_timeout`` is not a number of seconds >= 0.
    """

    def __init__(self, shutdown_timeout: float = 10.0) -> None:
        if (
            not isinstance(shutdown_timeout, int | float)
            or isinstance(shutdown_timeout, bool)
            or not shutdown_timeout >= 0  # NaN too
        ):
            raise ValueError(
                f"shutdown_timeout must be a number of seconds >= 0 (math.inf to wait for the "
                f"work without a limit), got {shutdown_timeout!r}."
            )
        self.shutdown_timeout = float(shutdown_timeout)
        """Seconds given to running work at shutdown before it is cancelled."""
        # Set by the application: returns its handler for Exception (or 500), if any.
        self._error_handler: Callable[[], Callable[[Any, Any], Any] | None] | None = None
        # One run per event loop whose lifespan is running, by the id of the loop's thread.
        self._runs: dict[int, _Run] = {}
        self._stopped = False

    @property
    def running(self) -> int:
        """How many started tasks have not finished yet (on every event loop)."""
        return sum(run.running for run in tuple(self._runs.values()))

    def start(self, func: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any) -> None:
        """Run ``await func(*args, **kwargs)`` in the background, supervised by the lifespan.

        Safe from any thread (a sync endpoint's worker thread included): from a thread other
        than the event loop's, the work starts on the loop soon after this returns.

        Raises:
            TypeError: ``func`` is not an async function.
            RuntimeError: the lifespan is not running (not started yet, shutting down, or never
                run, as in a test client used without ``with``).
        """
        if not is_async_callable(func):
            raise TypeError(
                f"app.tasks.start() needs an async function, got {func!r}. Define it with "
                "'async def', or run blocking work with "
                "app.tasks.start(run_in_threadpool, func, ...)."
            )
        name = _name(func)
        runs = self._runs
        run = runs.get(threading.get_ident())
        if run is None and len(runs) == 1:
            # From a worker thread (or any thread): hand the start over to the loop.
            run = next(iter(tuple(runs.values())))
            if run.accepting:
                other = run

                async def start_there() -> None:
                    self._start_on(other, name, func, args, kwargs)

                # A task on the loop starts it: anyio's start_soon needs to be called in one.
                other.loop.call_soon(lambda: spawn(start_there))
                return
        if run is None or not run.accepting:
            raise RuntimeError(self._not_running(name, len(runs)))
        self._start_on(run, name, func, args, kwargs)

    def _not_running(self, name: str, loops: int) -> str:
        if loops > 1:
            return (
                f"Cannot start {name}: {loops} event loops run this application's lifespan, "
                "and this thread is none of theirs. Call app.tasks.start() from one of them."
            )
        if self._stopped:
            why = "the application's lifespan has shut down (or is shutting down)"
        else:
            why = "the application's lifespan has not started"
        return (
            f"Cannot start {name}: {why}. Background tasks run inside the lifespan, between "
            "its startup and its shutdown: start them from an endpoint or from the lifespan "
            "while the server runs; in tests, enter the test client ('with TestClient(app) as "
            "client:'), which runs the lifespan."
        )

    def _start_on(
        self,
        run: _Run,
        name: str,
        func: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        if not run.accepting:
            # Handed over from a thread while shutdown began: too late, and nobody to raise to.
            logger.warning("Background task %s not started: the lifespan is shutting down.", name)
            return
        run.running += 1
        run.group.start_soon(self._supervise, run, name, func, args, kwargs, name=name)

    async def _supervise(
        self,
        run: _Run,
        name: str,
        func: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        scope = anyio.CancelScope()
        run.scopes.add(scope)
        try:
            with scope:
                await func(*args, **kwargs)
        except Exception as exc:
            await self._report(name, exc)
        finally:
            run.scopes.discard(scope)
            run.running -= 1
            if not run.running and not run.accepting:
                run.idle.set()

    async def _report(self, name: str, exc: Exception) -> None:
        logger.error("Background task %s failed.", name, exc_info=exc)
        handler = self._error_handler() if self._error_handler is not None else None
        if handler is None:
            return
        try:
            if is_async_callable(handler):
                await handler(None, exc)
            else:
                await run_in_threadpool(handler, None, exc)
        except Exception:
            logger.exception(
                "The exception handler %r failed while reporting the error of background task %s.",
                handler,
                name,
            )

    def _open(self, group: anyio.abc.TaskGroup) -> _Run:
        run = self._runs[threading.get_ident()] = _Run(group)
        self._stopped = False
        return run

    async def _stop(self, run: _Run) -> None:
        """Refuse new work, give running work ``shutdown_timeout`` seconds, cancel the rest and
        wait for its cleanup."""
        run.accepting = False
        self._stopped = True
        if run.running:
            with anyio.move_on_after(self.shutdown_timeout):
                await run.idle.wait()
        for scope in tuple(run.scopes):
            scope.cancel()
        if run.running:
            # Their cleanup (finally blocks) runs before the lifespan's shutdown code too.
            await run.idle.wait()

    def _close(self, run: _Run) -> None:
        run.accepting = False
        self._stopped = True
        for scope in tuple(run.scopes):
            scope.cancel()
        self._runs.pop(threading.get_ident(), None)


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or repr(func)


# --- the application's side of the lifespan ------------------------------------------------------


class _Phase(enum.Enum):
    NEW = enum.auto()  # no lifespan event received (yet, or ever: a server without lifespan)
    STARTING = enum.auto()
    STARTED = enum.auto()
    STOPPING = enum.auto()


class _Lifecycle:
    """What ``MicroASGI`` adds to the lifespan: phases, the drain, supervised tasks, signals."""

    __slots__ = ("_hooked", "_signals", "drain", "phase", "tasks")

    def __init__(self, tasks: SupervisedTasks, drain_signals: Collection[int]) -> None:
        self.drain = Drain()
        self.tasks = tasks
        self.phase = _Phase.NEW
        self._signals = _check_signals(drain_signals)
        self._hooked: list[tuple[int, _SignalHook]] = []

    def not_ready(self) -> str | None:
        """Why the application is not ready for traffic, or None when it is."""
        if self.drain.draining:
            return "draining"
        phase = self.phase
        if phase is _Phase.STARTING:
            return "starting up"
        if phase is _Phase.STOPPING:
            return "shutting down"
        return None

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the lifespan scope through ``app`` (the middleware stack), with the tasks' group."""
        parent = scope.get(DRAIN_KEY)
        if isinstance(parent, Drain):
            parent.adopt(self.drain)  # mounted in a MicroASGI app: drain with it
        scope[DRAIN_KEY] = self.drain  # for the apps mounted in ours

        async def receive_lifespan() -> Message:
            while True:
                message = await receive()
                kind = message.get("type")
                if kind == "lifespan.shutdown.notice":
                    # SPEC: proposed (asgiref PR #199, issue #588): the server stops accepting
                    # connections and will shut down once the open ones end. Not answered, so a
                    # lifespan below never sees it; servers that never send it change nothing.
                    self.drain.begin()
                    continue
                if kind == "lifespan.startup":
                    self.drain.reset()
                    self.phase = _Phase.STARTING
                    self._hook_signals()
                elif kind == "lifespan.shutdown":
                    self.phase = _Phase.STOPPING
                    # Before the lifespan's own shutdown code closes what the work uses.
                    await self.tasks._stop(run)
                return message

        # The shutdown's answer, held back until the tasks' group has closed: hypercorn cancels
        # the lifespan task as soon as it has the answer, and a cancellation reaching the
        # group's exit escapes to the server, which then exits with an error.
        answer: list[Message] = []

        async def send_lifespan(message: Message) -> None:
            kind = message.get("type")
            if kind == "lifespan.startup.complete":
                self.phase = _Phase.STARTED
            elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                answer.append(message)
                return
            await send(message)

        try:
            with collapse_excgroups():
                async with anyio.create_task_group() as group:
                    run = self.tasks._open(group)
                    try:
                        await app(scope, receive_lifespan, send_lifespan)
                    finally:
                        self.tasks._close(run)
        finally:
            self._unhook_signals()
            for message in answer:
                await send(message)

    def _hook_signals(self) -> None:
        if not self._signals or self._hooked:
            return
        if threading.current_thread() is not threading.main_thread():
            names = ", ".join(signal.Signals(number).name for number in self._signals)
            logger.warning(
                "drain_signals: the lifespan runs outside the main thread, where Python cannot "
                "handle signals, so %s will not begin the drain. Call app.begin_drain() from "
                "your own handler, or serve the app with a server that runs it in the main "
                "thread (see docs/lifecycle.md).",
                names,
            )
            return
        for number in self._signals:
            hook = _SignalHook(self.drain, signal.getsignal(number))
            signal.signal(number, hook)
            self._hooked.append((number, hook))

    def _unhook_signals(self) -> None:
        for number, hook in reversed(self._hooked):
            previous = hook.previous
            # Only our own handler is put back; one installed over ours stays.
            if previous is not None and signal.getsignal(number) is hook:
                signal.signal(number, previous)
        self._hooked.clear()


class _SignalHook:
    """A signal handler that begins the drain, then does what the previous handler did."""

    __slots__ = ("drain", "previous")

    def __init__(self, drain: Drain, previous: Any) -> None:
        self.drain = drain
        self.previous = previous

    def __call__(self, number: int, frame: FrameType | None) -> None:
        self.drain.begin()
        previous = self.previous
        if callable(previous):
            previous(number, frame)  # the server's handler: its graceful shutdown goes on
        elif previous == signal.SIG_DFL:
            # The default action (SIGTERM ends the process): as if we had not been there.
            signal.signal(number, signal.SIG_DFL)
            signal.raise_signal(number)


def _check_signals(signals: Collection[int]) -> tuple[int, ...]:
    valid = set(signal.valid_signals())
    checked: list[int] = []
    for number in signals:
        if isinstance(number, bool) or not isinstance(number, int) or number not in valid:
            raise ValueError(
                f"drain_signals must hold signal numbers, such as signal.SIGTERM, got "
                f"{number!r}. For example: drain_signals=[signal.SIGTERM, signal.SIGINT]."
            )
        checked.append(int(number))
    return tuple(checked)
