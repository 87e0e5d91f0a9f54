"""The lifespan protocol for a router: its own context manager, then its mounted apps'.

``specs/lifespan.rst`` in short: the server sends ``lifespan.startup``, the app answers
``lifespan.startup.complete`` (or ``.failed`` with a message); later ``lifespan.shutdown`` and
``lifespan.shutdown.complete`` (or ``.failed``). The state a lifespan yields goes into
``scope["state"]``, which the server shallow-copies into every request's scope.

Starlette runs only the top-level lifespan; a mounted app's lifespan never runs. Here a router also
drives the lifespan protocol of every app mounted in it (``Mount``, ``Host``), each in a task of its
own for the life of the server, sharing one state dict so their values reach requests as well.
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

import anyio
import anyio.abc

from microasgi._utils import collapse_excgroups
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from microasgi.routing import Router


class LifespanError(RuntimeError):
    """A lifespan (ours or a mounted app's) failed, or the server broke the protocol."""


class _Outcome(Enum):
    COMPLETE = "complete"
    FAILED = "failed"
    UNSUPPORTED = "unsupported"


class LifespanRunner:
    """Runs one router's lifespan; remembers the state when the server offers no ``state``."""

    def __init__(self, router: Router) -> None:
        self._router = router
        # Set only when the server's lifespan scope had no "state" key (no state support): the
        # router then copies it into each request's scope itself.
        self.fallback_state: dict[str, Any] | None = None

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":
            raise LifespanError(
                f"The server sent {message['type']!r} first on the lifespan scope; "
                "the protocol starts with 'lifespan.startup'."
            )
        state: dict[str, Any] | None = scope.get("state")
        if state is None:
            state = self.fallback_state = {}
        started = False
        try:
            async with AsyncExitStack() as stack:
                context = self._router.lifespan_context
                if context is not None:
                    yielded = await stack.enter_async_context(
                        cast(AbstractAsyncContextManager[Any], context(scope.get("app")))
                    )
                    if yielded is not None:
                        if not isinstance(yielded, Mapping):
                            raise TypeError(
                                f"The lifespan yielded {yielded!r}; yield a mapping (the lifespan "
                                "state, e.g. {'db': db}) or nothing."
                            )
                        state.update(yielded)
                await stack.enter_async_context(_children(self._router, scope, state))
                await send({"type": "lifespan.startup.complete"})
                started = True
                message = await receive()
                if message["type"] != "lifespan.shutdown":
                    raise LifespanError(
                        f"The server sent {message['type']!r} after startup; expected 'lifespan.shutdown'."
                    )
        except BaseException:
            phase = "shutdown" if started else "startup"
            await send({"type": f"lifespan.{phase}.failed", "message": traceback.format_exc()})
            raise
        await send({"type": "lifespan.shutdown.complete"})


@asynccontextmanager
async def _children(router: Router, scope: Scope, state: dict[str, Any]) -> AsyncIterator[None]:
    """Start the lifespans of the apps mounted in ``router``; shut them down in reverse order."""
    from microasgi.routing import Host, Mount

    apps: list[ASGIApp] = []
    for route in router.routes:
        if isinstance(route, Mount | Host) and route.app not in apps:
            apps.append(route.app)
    if not apps:
        yield
        return
    with collapse_excgroups():
        async with anyio.create_task_group() as group:
            started: list[_Child] = []
            try:
                for app in apps:
                    child = _Child(app, scope, state)
                    await child.startup(group)
                    started.append(child)
                yield
            finally:
                try:
                    with anyio.CancelScope(shield=True):
                        for child in reversed(started):
                            await child.shutdown()
                finally:
                    group.cancel_scope.cancel()


class _Child:
    """Drives the lifespan protocol of one mounted app, as a server would."""

    def __init__(self, app: ASGIApp, scope: Scope, state: dict[str, Any]) -> None:
        self._app = app
        self._scope = {
            "type": "lifespan",
            "asgi": scope.get("asgi", {"version": "3.0"}),
            "state": state,
        }
        self._inbox_send, self._inbox = anyio.create_memory_object_stream[Message](1)
        self._reply: Message | None = None
        self._replied = anyio.Event()
        self._supported = True

    async def _receive(self) -> Message:
        return await self._inbox.receive()

    async def _send(self, message: Message) -> None:
        self._reply = message
        self._replied.set()

    async def _run(self) -> None:
        try:
            await self._app(self._scope, self._receive, self._send)
        except Exception:
            # SPEC: an app that raises on the lifespan scope does not support lifespan; a server
            # carries on without it, and so do we (a failure it reports is seen via its reply).
            pass
        finally:
            self._supported = self._supported and self._reply is not None
            self._replied.set()

    def _take_reply(self) -> Message | None:
        reply, self._reply = self._reply, None
        return reply

    async def _exchange(self, message_type: str) -> tuple[_Outcome, str]:
        self._reply, self._replied = None, anyio.Event()
        await self._inbox_send.send({"type": message_type})
        await self._replied.wait()
        reply = self._take_reply()
        if reply is None:
            return _Outcome.UNSUPPORTED, ""
        if reply["type"] == f"{message_type}.complete":
            return _Outcome.COMPLETE, ""
        if reply["type"] == f"{message_type}.failed":
            return _Outcome.FAILED, str(reply.get("message", ""))
        return _Outcome.UNSUPPORTED, ""

    async def startup(self, group: anyio.abc.TaskGroup) -> None:
        group.start_soon(self._run)
        outcome, text = await self._exchange("lifespan.startup")
        if outcome is _Outcome.FAILED:
            raise LifespanError(
                f"The lifespan of mounted app {self._app!r} failed to start:\n{text}"
            )
        self._supported = outcome is _Outcome.COMPLETE

    async def shutdown(self) -> None:
        if not self._supported:
            return
        outcome, text = await self._exchange("lifespan.shutdown")
        if outcome is _Outcome.FAILED:
            raise LifespanError(
                f"The lifespan of mounted app {self._app!r} failed to shut down:\n{text}"
            )
