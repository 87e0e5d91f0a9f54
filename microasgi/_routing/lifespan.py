"""The lifespan protocol for a router: its own context manager, then its mounted apps'.

``specs/lifespan.rst`` in short: the server sends ``lifespan.startup``, the app answers
``lifespan.startup.complete`` (or ``.failed`` with a message); later ``lifespan.shutdown`` and
``lifespan.shutdown.complete`` (or ``.failed``). The state a lifespan yields goes into
``scope["state"]``, which the server shallow-copies into every request's scope.

Three things go beyond Starlette:

- A router also drives the lifespan of every app mounted in it (``Mount``, ``Host``), as a server
  would: each in a task of its own for the life of the server, all sharing one state dict so
  their values reach requests too. An app that raises on (or returns from) the lifespan scope
  does not support lifespan and is skipped, as servers skip it.
- A server without lifespan *state* support (no ``"state"`` in the lifespan scope) still gets the
  state to requests: the router copies it into each request scope itself.
- A server that sends no lifespan at all (daphne; a framework that does not forward lifespan to
  the apps mounted in it) cannot run startup code. Requests are still served, and the first one
  logs one warning through the ``microasgi`` logger, for routers that declared a lifespan.
"""

from __future__ import annotations

import functools
import inspect
import logging
import traceback
import warnings
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    AsyncExitStack,
    asynccontextmanager,
    contextmanager,
)
from types import TracebackType
from typing import Any, Protocol, cast

import anyio
import anyio.abc

from microasgi._asgi.concurrency import collapse_excgroups
from microasgi._asgi.drain import DRAIN_KEY
from microasgi.exceptions import StarletteDeprecationWarning
from microasgi.types import ASGIApp, Lifespan, Message, Receive, Scope, Send


class _LifespanOwner(Protocol):
    """What the runner needs of the router it serves (a ``Router``): its lifespan and its mounts."""

    lifespan_context: Lifespan[Any] | None

    def _lifespan_apps(self) -> list[ASGIApp]: ...


logger = logging.getLogger("microasgi")


def lifespan_context(lifespan: Any) -> Lifespan[Any] | None:
    """``lifespan`` as an async context manager factory, the only form a router runs.

    Starlette still accepts a plain async generator function, or a plain generator function,
    deprecated: so does a router, wrapping it and warning with Starlette's text, category and
    module (``microasgi.routing``, the public home of ``Router``), so a ported project's warning
    filters match. A generator's code before and after its ``yield`` runs in the event loop
    thread, as in Starlette (a worker thread would split startup and shutdown between threads,
    which breaks objects bound to the thread that made them, such as sqlite3 connections).
    """
    if inspect.isasyncgenfunction(lifespan):
        _warn_generator("async generator function", lifespan)
        return cast(Lifespan[Any], asynccontextmanager(lifespan))
    if inspect.isgeneratorfunction(lifespan):
        _warn_generator("generator function", lifespan)
        sync_manager = contextmanager(lifespan)

        @functools.wraps(lifespan)
        def lifted(app: Any) -> AbstractAsyncContextManager[Any]:
            return _Lifted(sync_manager(app))

        return lifted
    return cast(Lifespan[Any] | None, lifespan)


def _warn_generator(kind: str, lifespan: Any) -> None:
    func = lifespan
    while isinstance(func, functools.partial):
        func = func.func
    code = getattr(func, "__code__", None)
    warnings.warn_explicit(
        f"{kind} lifespans are deprecated, use an @contextlib.asynccontextmanager function instead",
        StarletteDeprecationWarning,
        # The warning points at the lifespan, the code to change.
        code.co_filename if code is not None else "<lifespan>",
        code.co_firstlineno if code is not None else 0,
        module="microasgi.routing",
    )


class _Lifted(AbstractAsyncContextManager[Any]):
    """A sync context manager entered and exited as an async one (in the event loop thread)."""

    def __init__(self, manager: AbstractContextManager[Any]) -> None:
        self._manager = manager

    async def __aenter__(self) -> Any:
        return self._manager.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return self._manager.__exit__(exc_type, exc, tb)


class LifespanError(RuntimeError):
    """A mounted app's lifespan failed, or a lifespan peer broke the protocol."""


class LifespanRunner:
    """Runs one router's lifespan, and prepares its requests for what the lifespan left.

    Attributes:
        fallback_state: the lifespan state, kept here when the server's lifespan scope had no
            ``"state"`` (no state support); the router copies it into each request's scope.
        pending: whether requests still need ``prepare_request`` (the router checks this flag,
            so once the first request is past, a server with state support costs nothing).
    """

    def __init__(self, router: _LifespanOwner) -> None:
        self._router = router
        self._ran = False
        self.fallback_state: dict[str, Any] | None = None
        self.pending = True

    def prepare_request(self, scope: Scope) -> None:
        """Copy the fallback state into ``scope``; warn once when no lifespan ever ran."""
        fallback = self.fallback_state
        if fallback is not None:
            # A shallow copy, as a server would make. Keys a middleware set before us win.
            state: dict[str, Any] = scope.setdefault("state", {})
            for key, value in fallback.items():
                state.setdefault(key, value)
            return
        self.pending = False
        context = self._router.lifespan_context
        if not self._ran and context is not None:
            name = getattr(context, "__qualname__", repr(context))
            logger.warning(
                "The server sent no lifespan events, so the lifespan %s did not run: its startup "
                "code was skipped and its state is missing from requests. Serve the app with a "
                "server that supports ASGI lifespan (uvicorn, hypercorn, granian), or, when it "
                "is mounted inside another framework, have that framework forward lifespan "
                "events to it.",
                name,
            )

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a lifespan scope: startup, wait for shutdown, shut down."""
        self._ran = True
        message = await receive()
        if message["type"] != "lifespan.startup":
            raise LifespanError(
                f"The server sent {message['type']!r} first on the lifespan scope; "
                "the protocol starts with 'lifespan.startup'."
            )
        state: dict[str, Any] | None = scope.get("state")
        if state is None:
            state = {}
            self.fallback_state, self.pending = state, True
        else:
            self.fallback_state = None
        started = False
        try:
            async with AsyncExitStack() as stack:
                await self._enter(stack, scope, state)
                await send({"type": "lifespan.startup.complete"})
                started = True
                await _wait_for_shutdown(receive)
        except Exception:
            phase = "shutdown" if started else "startup"
            await send({"type": f"lifespan.{phase}.failed", "message": traceback.format_exc()})
            raise
        await send({"type": "lifespan.shutdown.complete"})

    async def _enter(self, stack: AsyncExitStack, scope: Scope, state: dict[str, Any]) -> None:
        context = self._router.lifespan_context
        if context is not None:
            manager = cast(AbstractAsyncContextManager[Any], context(scope.get("app")))
            yielded = await stack.enter_async_context(manager)
            if yielded is not None:
                if not isinstance(yielded, Mapping):
                    raise TypeError(
                        f"The lifespan yielded {yielded!r}; yield a mapping (the lifespan "
                        "state, e.g. {'db': db}) or nothing."
                    )
                state.update(yielded)
        apps = self._router._lifespan_apps()
        if apps:
            await stack.enter_async_context(_mounted_lifespans(apps, scope, state))


async def _wait_for_shutdown(receive: Receive) -> None:
    message = await receive()
    while message["type"] == "lifespan.shutdown.notice":
        # SPEC: proposed (asgiref PR #199): the server begins its graceful shutdown. Nothing to
        # answer; a MicroASGI app above has begun its drain already.
        message = await receive()
    if message["type"] != "lifespan.shutdown":
        raise LifespanError(
            f"The server sent {message['type']!r} after startup; expected 'lifespan.shutdown'."
        )


@asynccontextmanager
async def _mounted_lifespans(
    apps: Sequence[ASGIApp], scope: Scope, state: dict[str, Any]
) -> AsyncIterator[None]:
    """Start the lifespans of ``apps`` in order; shut them all down in reverse order."""
    children = [_MountedLifespan(app, scope, state) for app in apps]
    with collapse_excgroups():
        async with anyio.create_task_group() as group:
            started: list[_MountedLifespan] = []
            try:
                for child in children:
                    if await child.startup(group):
                        started.append(child)
                yield
            finally:
                try:
                    with anyio.CancelScope(shield=True):
                        errors: list[LifespanError] = []
                        for child in reversed(started):
                            try:
                                await child.shutdown()
                            except LifespanError as exc:
                                errors.append(exc)
                        if errors:
                            raise errors[0]
                finally:
                    # Apps without lifespan support may still be waiting on receive().
                    group.cancel_scope.cancel()
                    for child in children:
                        child.close()


class _MountedLifespan:
    """Drives the lifespan protocol of one mounted app, as a server would."""

    def __init__(self, app: ASGIApp, scope: Scope, state: dict[str, Any]) -> None:
        self._app = app
        self._scope = {"type": "lifespan", "asgi": dict(scope.get("asgi", {})), "state": state}
        if DRAIN_KEY in scope:
            # A MicroASGI app above hands its drain down: a mounted one drains with it.
            self._scope[DRAIN_KEY] = scope[DRAIN_KEY]
        self._to_app, self._inbox = anyio.create_memory_object_stream[Message](1)
        self._replies_in, self._replies = anyio.create_memory_object_stream[Message](1)
        self._error: Exception | None = None

    def close(self) -> None:
        for stream in (self._to_app, self._inbox, self._replies_in, self._replies):
            stream.close()

    async def _run(self) -> None:
        try:
            await self._app(self._scope, self._inbox.receive, self._replies_in.send)
        except Exception as exc:
            self._error = exc
        finally:
            self._replies_in.close()

    async def _exchange(self, message_type: str) -> Message | None:
        await self._to_app.send({"type": message_type})
        try:
            return await self._replies.receive()
        except anyio.EndOfStream:
            return None  # the app returned or raised without answering

    async def startup(self, group: anyio.abc.TaskGroup) -> bool:
        """Start the app's lifespan; return whether it supports lifespan at all."""
        group.start_soon(self._run)
        reply = await self._exchange("lifespan.startup")
        if reply is not None and reply["type"] == "lifespan.startup.complete":
            return True
        if reply is not None and reply["type"] == "lifespan.startup.failed":
            raise LifespanError(
                f"The lifespan of mounted app {self._app!r} failed to start:\n"
                f"{reply.get('message', '')}"
            )
        # SPEC: an app that raises (or returns) on the lifespan scope does not support it; a
        # server carries on without it, and so do we. So for an app that ignores the scope type
        # and answers with HTTP messages (uvicorn rejects those, and the app then raises).
        return False

    async def shutdown(self) -> None:
        """Shut the app's lifespan down; raise ``LifespanError`` if it fails."""
        reply = await self._exchange("lifespan.shutdown")
        if reply is None:
            raise LifespanError(
                f"The lifespan of mounted app {self._app!r} ended without answering "
                f"'lifespan.shutdown': {self._error!r}."
            )
        if reply["type"] == "lifespan.shutdown.failed":
            raise LifespanError(
                f"The lifespan of mounted app {self._app!r} failed to shut down:\n"
                f"{reply.get('message', '')}"
            )
        if reply["type"] != "lifespan.shutdown.complete":
            raise LifespanError(
                f"Mounted app {self._app!r} answered 'lifespan.shutdown' with {reply['type']!r}; "
                "expected 'lifespan.shutdown.complete' or 'lifespan.shutdown.failed'."
            )
