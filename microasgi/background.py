"""Tasks that run after the response has been sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from typing_extensions import ParamSpec

from microasgi._asgi.concurrency import is_async_callable
from microasgi.concurrency import run_in_threadpool

__all__ = ["BackgroundTask", "BackgroundTasks"]

P = ParamSpec("P")


class BackgroundTask:
    """A call to make once the response is complete: ``BackgroundTask(fn, *args, **kwargs)``.

    ``fn`` may be ``async def`` (awaited) or a plain function (run in a worker thread so it cannot
    block the event loop).
    """

    def __init__(self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> None:
        if not callable(func):
            raise TypeError(
                f"BackgroundTask needs a callable, got {func!r}. "
                "Pass the function itself and its arguments: BackgroundTask(fn, arg, key=value)."
            )
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.is_async = is_async_callable(func)

    async def __call__(self) -> None:
        if self.is_async:
            await cast(Callable[..., Awaitable[Any]], self.func)(*self.args, **self.kwargs)
        else:
            await run_in_threadpool(self.func, *self.args, **self.kwargs)

    def __repr__(self) -> str:
        name = getattr(self.func, "__qualname__", repr(self.func))
        return f"{type(self).__name__}({name})"


class BackgroundTasks(BackgroundTask):
    """Several background tasks, run one after another in the order they were added.

    If one raises, the error propagates and the tasks after it do not run, as in Starlette.
    """

    def __init__(self, tasks: Sequence[BackgroundTask] | None = None) -> None:
        self.tasks: list[BackgroundTask] = list(tasks) if tasks is not None else []

    def add_task(self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> None:
        """Queue ``func(*args, **kwargs)`` to run after the tasks already added."""
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self) -> None:
        for task in self.tasks:
            await task()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.tasks!r})"
