"""Run blocking code in worker threads without blocking the event loop."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from typing import TypeVar

import anyio.to_thread
from typing_extensions import ParamSpec

__all__ = ["iterate_in_threadpool", "run_in_threadpool"]

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
