"""Run blocking code in worker threads without blocking the event loop."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from typing_extensions import ParamSpec

from microasgi.exceptions import _deprecated

__all__ = ["iterate_in_threadpool", "run_in_threadpool", "run_until_first_complete"]

P = ParamSpec("P")
T = TypeVar("T")


async def run_in_threadpool(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call ``func(*args, **kwargs)`` in a worker thread and return its result.

    Context variables are copied into the thread (anyio does so), so values set by middleware are
    visible to the function.
    """
    if kwargs:
        # anyio's run_sync takes positional arguments only.
        return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs))
    return await anyio.to_thread.run_sync(func, *args)


async def run_until_first_complete(
    *args: tuple[Callable[..., Awaitable[Any]], dict[str, Any]],
) -> None:
    """Run ``func(**kwargs)`` for every ``(func, kwargs)`` at once; when one returns, cancel the
    others and return (Starlette's helper, deprecated there too).

    An error from one of them is raised as itself when it is the only one; several errors at
    once come as an ``ExceptionGroup``.

    Warns:
        MicroASGIDeprecationWarning: always, with Starlette's text ("run_until_first_complete is
            deprecated and will be removed in a future version."); use an ``anyio`` task group
            and cancel its scope.
    """
    # Starlette's sentence first, word for word, so ported warning filters (Starlette's own
    # pyproject has one) keep matching; then the fix.
    _deprecated(
        "run_until_first_complete",
        "0.1",
        "an anyio task group whose scope the first task cancels",
        starlette="run_until_first_complete is deprecated and will be removed in a future "
        "version. Use an anyio task group whose scope the first task to finish cancels instead.",
    )

    async def run(func: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]) -> None:
        await func(**kwargs)
        group.cancel_scope.cancel()

    try:
        async with anyio.create_task_group() as group:
            for func, kwargs in args:
                group.start_soon(run, func, kwargs)
    except BaseExceptionGroup as exc:
        # One failure is raised as itself, as a plain await would raise it.
        if len(exc.exceptions) == 1:
            raise exc.exceptions[0] from None
        raise


class _Exhausted:
    """Marks the end of a synchronous iterator.

    ``StopIteration`` cannot cross a thread boundary through a future (it would end the wrong
    generator), so the worker returns this marker instead.
    """


_EXHAUSTED = _Exhausted()


def _next_or_exhausted(iterator: Iterator[T]) -> T | _Exhausted:
    return next(iterator, _EXHAUSTED)


async def iterate_in_threadpool(iterable: Iterable[T]) -> AsyncGenerator[T, None]:
    """Iterate a blocking iterable, fetching each item in a worker thread.

    Closing the async iterator early (``aclose()``, or leaving an ``async for`` by ``break`` or an
    exception) closes a wrapped generator too, in a worker thread, so its ``finally`` blocks run
    at once rather than at garbage collection.
    """
    iterator = iter(iterable)
    try:
        while True:
            item = await anyio.to_thread.run_sync(_next_or_exhausted, iterator)
            if isinstance(item, _Exhausted):
                return
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close)
