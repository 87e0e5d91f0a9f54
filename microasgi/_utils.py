"""Small private helpers shared by several modules."""

from __future__ import annotations

import functools
import inspect
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
