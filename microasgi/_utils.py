"""Small private helpers shared by several modules."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def is_async_callable(obj: Any) -> bool:
    """Tell whether calling ``obj`` returns an awaitable coroutine.

    Sees through ``functools.partial`` and objects whose ``__call__`` is ``async def``, which
    ``inspect.iscoroutinefunction`` alone misses on Python 3.11.
    """
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.iscoroutinefunction(obj):
        return True
    # An instance whose class defines ``async def __call__``.
    return not inspect.isroutine(obj) and inspect.iscoroutinefunction(type(obj).__call__)


@contextmanager
def collapse_excgroups() -> Iterator[None]:
    """Re-raise a lone exception out of the exception group an anyio task group wraps it in.

    Design decision 6: an error from user code surfaces as itself, not wrapped by our task
    groups, so ``except ValueError`` and exception handlers keep working.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        while isinstance(group, BaseExceptionGroup) and len(group.exceptions) == 1:
            inner = group.exceptions[0]
            if not isinstance(inner, BaseExceptionGroup):
                raise inner from group.__cause__
            group = inner
        raise
