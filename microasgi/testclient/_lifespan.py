"""The lifespan protocol as a server runs it: startup, the test, shutdown.

The app runs in a task for the whole lifespan. Its messages are checked by
:class:`LifespanChecker`. An app that raises before answering ``lifespan.startup`` fails the
startup with its exception, as Starlette's client does; one that returns without a word (or answers
as if the scope were HTTP) is taken not to support lifespan, as servers do, and the client carries
on without it.
"""

from __future__ import annotations

import math
from typing import Any

import anyio
import anyio.abc

from microasgi.testclient._driver import LifespanChecker
from microasgi.testclient._messages import ASGIProtocolError
from microasgi.types import ASGIApp, Message

__all__ = ["LifespanRunner"]


class LifespanRunner:
    """Drive one lifespan of ``app``.

    Args:
        app: the ASGI app.
        scope_asgi: the ``asgi`` entry of the scope.
        with_state: offer ``scope["state"]`` (a dict shared, shallow-copied, with every request).
        strict: check the messages against the spec's rules, not only what servers accept.
    """

    def __init__(
        self, app: ASGIApp, scope_asgi: dict[str, str], *, with_state: bool, strict: bool = False
    ) -> None:
        self.app = app
        self.scope: dict[str, Any] = {"type": "lifespan", "asgi": dict(scope_asgi)}
        if with_state:
            self.scope["state"] = {}
        self.checker = LifespanChecker(strict=strict)
        self.supported = True
        self.error: Exception | None = None
        self.protocol_error: ASGIProtocolError | None = None
        self._to_app, self._app_inbox = anyio.create_memory_object_stream[Message](math.inf)
        self._replies, self._from_app = anyio.create_memory_object_stream[Message](math.inf)

    @property
    def state(self) -> dict[str, Any] | None:
        """The lifespan state, once startup completed and when state is offered."""
        if self.supported and "state" in self.scope:
            return self.scope["state"]  # type: ignore[no-any-return]
        return None

    async def _receive(self) -> Message:
        message = await self._app_inbox.receive()
        self.checker.delivered(message["type"])
        return message

    async def _send(self, message: Message) -> None:
        if self.protocol_error is not None:
            raise self.protocol_error
        try:
            self.checker.check(message)
        except ASGIProtocolError as exc:
            self.protocol_error = exc
            raise
        await self._replies.send(message)

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._receive, self._send)
        except Exception as exc:
            self.error = exc
        finally:
            self._replies.close()

    async def startup(self, task_group: anyio.abc.TaskGroup) -> None:
        """Start the app and deliver ``lifespan.startup``; raise if the app reports a failure."""
        task_group.start_soon(self._run, name="lifespan")
        await self._to_app.send({"type": "lifespan.startup"})
        reply = await self._reply()
        foreign = self.protocol_error is not None and self.protocol_error.rule == "lifespan.foreign"
        silent = self.protocol_error is None and self.error is None
        if reply is None and (silent or foreign):
            # SPEC: an app that returns on the lifespan scope without a word does not support
            # it; servers carry on without lifespan, and so does the test client. One that
            # raises fails the startup with its error below, as in Starlette's client.
            self.supported = False
            self.error = self.protocol_error = None
            return
        if reply is None and self.error is not None:
            self.error.add_note(
                "The app raised this on the lifespan scope, which entering `with TestClient(app)` "
                "starts (as Starlette's client, the startup fails with it). An app without "
                "lifespan support should return when scope['type'] == 'lifespan' (the client "
                "then carries on without lifespan), or be used without `with`."
            )
        if reply is None or reply["type"] == "lifespan.startup.failed":
            await self._reply()  # let the app return (Starlette's router re-raises after failing)
            self._raise_errors()
            message = "" if reply is None else reply.get("message", "")
            raise RuntimeError(f"The app's lifespan startup failed: {message or '(no message)'}")

    async def shutdown(self) -> None:
        """Deliver ``lifespan.shutdown``, wait for the answer and for the app to return."""
        if not self.supported:
            return
        await self._to_app.send({"type": "lifespan.shutdown"})
        reply = await self._reply()
        if reply is not None:
            await self._reply()  # the app returns: its send stream closes
        self._raise_errors()
        if reply is None:
            raise ASGIProtocolError(
                "lifespan.incomplete",
                "The app returned without answering 'lifespan.shutdown'. Send "
                "'lifespan.shutdown.complete' (or 'lifespan.shutdown.failed') before returning.",
            )
        if reply["type"] == "lifespan.shutdown.failed":
            message = reply.get("message", "")
            raise RuntimeError(f"The app's lifespan shutdown failed: {message or '(no message)'}")

    def close(self) -> None:
        """Release the message streams."""
        for stream in (self._to_app, self._app_inbox, self._replies, self._from_app):
            stream.close()

    async def _reply(self) -> Message | None:
        try:
            return await self._from_app.receive()
        except anyio.EndOfStream:
            return None

    def _raise_errors(self) -> None:
        if self.protocol_error is not None:
            raise self.protocol_error
        if self.error is not None:
            raise self.error
