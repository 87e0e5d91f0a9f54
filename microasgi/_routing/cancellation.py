"""Ending a request on purpose: when its client disconnects, at a deadline, or when its body stops
arriving (``cancel_on_disconnect``, ``timeout`` and ``body_timeout`` on ``Route``, ``Mount``,
``Router`` and ``MicroASGI``; ``Timeout`` is public in ``routing``).

Off by default, and free when off: a route, mount or router given none of these settings adds no
wrapper, so a request under none of them runs no line of this module (no task, no task group, no
cancel scope, no extra ``receive``). A level given a setting wraps its app in a ``_Guard``. The
outermost guard a request meets makes the request's ``_Control`` (kept in the scope) and owns its
cancel scope; a guard further in changes the settings of that control, so the innermost setting
wins, as it does for ``max_body_size``, and nesting never stacks deadlines or watchers.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Callable
from types import EllipsisType
from typing import NamedTuple, TypeVar, cast

import anyio
import anyio.from_thread
import anyio.to_thread

from microasgi._asgi.concurrency import collapse_excgroups
from microasgi._asgi.inbox import _Inbox
from microasgi.exceptions import HTTPException
from microasgi.middleware.exceptions import _answered_above
from microasgi.responses import PlainTextResponse
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("microasgi")

CONTROL_KEY = "microasgi.cancellation"
"""The scope key of the request's ``_Control`` while a guard runs (absent otherwise)."""

T = TypeVar("T")
R = TypeVar("R")


@dataclasses.dataclass(frozen=True)
class Timeout:
    """A deadline for a request, with the ``Retry-After`` its 503 answer carries.

    ``timeout=5`` and ``timeout=Timeout(5)`` are the same; ``Timeout`` adds the header::

        Route("/report", report, timeout=Timeout(10, retry_after=30))

    Args:
        seconds: how long the endpoint and its response may take, from when the request reaches
            the outermost route, mount or router given any of ``cancel_on_disconnect``,
            ``timeout`` or ``body_timeout``.
        retry_after: the ``Retry-After`` value (seconds) of the 503 answer; ``None`` sends none.

    Raises:
        ValueError: ``seconds`` is not a finite number > 0, or ``retry_after`` not an int >= 0.
    """

    seconds: float
    retry_after: int | None = None

    def __post_init__(self) -> None:
        if not _is_seconds(self.seconds):
            raise ValueError(
                f"Timeout seconds must be a finite number > 0, got {self.seconds!r}. Use "
                "None for no timeout."
            )
        retry_after = self.retry_after
        if retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0
        ):
            raise ValueError(
                f"Timeout retry_after must be a number of seconds (an int >= 0) or None, got "
                f"{retry_after!r}."
            )


TimeoutSetting = Timeout | float | EllipsisType | None
"""A ``timeout=`` option: seconds, a ``Timeout``, ``None`` for none, or ``...`` to inherit."""

BodyTimeoutSetting = float | EllipsisType | None
"""A ``body_timeout=`` option: seconds, ``None`` for none, or ``...`` to inherit."""


def _is_seconds(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def check_timeout(value: object) -> Timeout | EllipsisType | None:
    """Validate a ``timeout`` option (at construction); a number becomes a ``Timeout``."""
    if value is ... or value is None or isinstance(value, Timeout):
        return value
    if _is_seconds(value):
        return Timeout(cast(float, value))
    raise ValueError(
        f"timeout must be a number of seconds > 0, a Timeout(seconds, retry_after=...), or None "
        f"for no timeout, got {value!r}."
    )


def check_body_timeout(value: object) -> BodyTimeoutSetting:
    """Validate a ``body_timeout`` option (at construction)."""
    if value is ... or value is None:
        return value
    if _is_seconds(value):
        return cast(float, value)
    raise ValueError(
        f"body_timeout must be a number of seconds > 0, or None for no limit, got {value!r}."
    )


def check_cancel_on_disconnect(value: object) -> bool | None:
    """Validate a ``cancel_on_disconnect`` option (at construction)."""
    if value is None or isinstance(value, bool):
        return value
    raise TypeError(
        f"cancel_on_disconnect must be True, False, or None to inherit the enclosing setting, "
        f"got {value!r}."
    )


class _Settings(NamedTuple):
    """What one route, mount or router sets (``None``/``...``: inherit)."""

    cancel_on_disconnect: bool | None
    timeout: Timeout | EllipsisType | None
    body_timeout: BodyTimeoutSetting


def check_settings(
    cancel_on_disconnect: object, timeout: object, body_timeout: object
) -> _Settings:
    """Validate the three options of a route, mount or router (at construction)."""
    return _Settings(
        check_cancel_on_disconnect(cancel_on_disconnect),
        check_timeout(timeout),
        check_body_timeout(body_timeout),
    )


def with_cancellation(
    app: ASGIApp,
    cancel_on_disconnect: bool | None,
    timeout: Timeout | EllipsisType | None,
    body_timeout: BodyTimeoutSetting,
) -> ASGIApp:
    """Wrap ``app`` in a guard applying these (validated) settings; nothing set: ``app`` itself."""
    if cancel_on_disconnect is None and timeout is ... and body_timeout is ...:
        return app  # PERF: off costs nothing, not even a call
    return _Guard(app, _Settings(cancel_on_disconnect, timeout, body_timeout))


class _Control:
    """One request's cancellation: the settings in force, the cancel scope, the response's
    progress (seen through ``send``) and the inbox, if one reads ``receive``."""

    __slots__ = (
        "_send",
        "active",
        "body_timeout",
        "cancel_on_disconnect",
        "cancel_scope",
        "complete",
        "deadline",
        "disconnected",
        "inbox",
        "start",
        "started",
        "timeout",
    )

    cancel_scope: anyio.CancelScope  # the outermost guard's, set as it enters it

    def __init__(self, send: Send) -> None:
        self._send = send
        self.start = anyio.current_time()
        self.deadline = math.inf
        self.active = False  # True while the outermost guard's cancel scope is open
        self.cancel_on_disconnect = False
        self.timeout: Timeout | None = None
        self.body_timeout: float | None = None
        self.inbox: _Inbox | None = None
        self.started = False  # http.response.start was sent
        self.complete = False  # the last body message was sent
        self.disconnected = False  # the client left and the endpoint was cancelled for it

    def apply(self, settings: _Settings) -> None:
        """Put in force what a route, mount or router sets; what it leaves out stays."""
        if settings.cancel_on_disconnect is not None:
            self.cancel_on_disconnect = settings.cancel_on_disconnect
        timeout = settings.timeout
        if timeout is not ...:
            self.timeout = timeout
            # Counted from the outermost guard, whichever level sets it.
            self.deadline = math.inf if timeout is None else self.start + timeout.seconds
            if self.active:
                self.cancel_scope.deadline = self.deadline
        body_timeout = settings.body_timeout
        if body_timeout is not ...:
            self.body_timeout = body_timeout
            if self.inbox is not None:
                self.inbox.body_timeout = body_timeout

    async def send(self, message: Message) -> None:
        """The app's ``send``: note when the response starts and when it is complete."""
        if not self.complete:
            kind = message.get("type")
            if kind == "http.response.start":
                self.started = True  # before sending: a second start could never follow
            elif kind == "http.response.pathsend" or (
                (kind == "http.response.body" or kind == "http.response.zerocopysend")
                and not message.get("more_body", False)
            ):
                self.complete = True
                if self.deadline != math.inf:
                    # The response is whole: its background tasks are not cut off.
                    self.deadline = self.cancel_scope.deadline = math.inf
        await self._send(message)

    def client_left(self) -> None:
        """``http.disconnect`` arrived: cancel the endpoint if nothing was sent yet."""
        if self.cancel_on_disconnect and not self.started:
            self.disconnected = True
            self.cancel_scope.cancel()


class _Guard:
    """The cancellation one route, mount or router asks for, in front of its app."""

    __slots__ = ("app", "settings")

    def __init__(self, app: ASGIApp, settings: _Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # websockets and lifespan are not timed
            return
        control = scope.get(CONTROL_KEY)
        if isinstance(control, _Control) and control.active:
            # An enclosing guard owns the cancel scope: ours only changes its settings.
            control.apply(self.settings)
            await self._run(control, scope, receive, send)
            return
        # Asked now: the apps below may publish their own handlers in the scope, gone by then.
        answered_above = _answered_above(scope)
        own = scope[CONTROL_KEY] = _Control(send)
        own.apply(self.settings)
        with anyio.CancelScope(deadline=own.deadline) as cancel_scope:
            own.cancel_scope, own.active = cancel_scope, True
            try:
                await self._run(own, scope, receive, own.send)
            finally:
                own.active = False
        if cancel_scope.cancelled_caught:
            await _answer(own, scope, receive, send, answered_above)

    async def _run(self, control: _Control, scope: Scope, receive: Receive, send: Send) -> None:
        inbox = control.inbox
        if inbox is None:
            if not control.cancel_on_disconnect and control.body_timeout is None:
                await self.app(scope, receive, send)  # a deadline alone: nothing more to do
                return
            # The first guard that needs the inbox puts it between the app and ``receive``.
            inbox = control.inbox = _Inbox(scope, receive)
            inbox.body_timeout = control.body_timeout
            inbox.on_disconnect = control.client_left
            inbox.attach(receive)
            try:
                await self._watch(control, inbox, scope, inbox, send)
            finally:
                inbox.detach()
        else:
            await self._watch(control, inbox, scope, receive, send)

    async def _watch(
        self, control: _Control, inbox: _Inbox, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if inbox.watching or not control.cancel_on_disconnect:
            await self.app(scope, receive, send)
            return
        with collapse_excgroups():
            async with anyio.create_task_group() as group:
                inbox.start_watching(group)
                await self.app(scope, receive, send)
                group.cancel_scope.cancel()


async def _answer(
    control: _Control, scope: Scope, receive: Receive, send: Send, answered_above: bool
) -> None:
    """The request's cancel scope caught its cancellation: say why, and answer if still due."""
    method, path = scope.get("method"), scope.get("path")
    if control.disconnected:
        logger.debug("%s %s: the client disconnected; the endpoint was cancelled.", method, path)
        return
    timeout = cast(Timeout, control.timeout)  # only a deadline cancels otherwise
    if control.started:
        logger.warning(
            "%s %s timed out after %gs (timeout) once its response had started: the response "
            "was cut short.",
            method,
            path,
            timeout.seconds,
        )
        return
    logger.warning(
        "%s %s timed out after %gs (timeout): answered 503.", method, path, timeout.seconds
    )
    headers = None if timeout.retry_after is None else {"Retry-After": str(timeout.retry_after)}
    if answered_above:
        raise HTTPException(503, headers=headers)  # the exception handlers above answer it
    await PlainTextResponse("Service Unavailable", status_code=503, headers=headers)(
        scope, receive, send
    )


def is_cancellable(scope: Scope) -> bool:
    """Tell whether a guard may cancel this request now (a deadline or a disconnect watch)."""
    control = scope.get(CONTROL_KEY)
    return isinstance(control, _Control) and control.active


async def run_sync_cancellable(func: Callable[[T], R], arg: T) -> R:
    """Run ``func(arg)`` in a worker thread, and stop waiting for it when cancelled.

    A thread cannot be stopped: cancelled, the request ends at once and the thread runs ``func``
    to its end on its own, its result dropped. It keeps its token of anyio's default thread
    limiter until then, so the threads of cancelled requests still count against the limit
    (40 by default) instead of piling up past it; requests beyond it wait for a thread (and
    their own deadline still applies while they wait).
    """
    limiter = anyio.to_thread.current_default_thread_limiter()
    token = object()
    await limiter.acquire_on_behalf_of(token)
    lock = threading.Lock()
    started = abandoned = False

    def release() -> None:
        limiter.release_on_behalf_of(token)

    def call() -> R:
        nonlocal started
        with lock:
            if abandoned:
                return cast(R, None)  # cancelled before this thread took the call: nobody waits
            started = True
        try:
            return func(arg)
        finally:
            try:
                anyio.from_thread.run_sync(release)
            except RuntimeError:
                pass  # the event loop has ended: there is no limit left to free

    try:
        return await anyio.to_thread.run_sync(
            call, abandon_on_cancel=True, limiter=anyio.CapacityLimiter(1)
        )
    finally:
        with lock:
            if not started:
                abandoned = True
                release()
