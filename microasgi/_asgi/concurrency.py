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


def unwrap_group(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """Return the one real error inside ``group`` (nested groups flattened), else the group."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop()
        if isinstance(exc, BaseExceptionGroup):
            pending.extend(reversed(exc.exceptions))
        else:
            leaves.append(exc)
    return leaves[0] if len(leaves) == 1 else group


@contextmanager
def collapse_excgroups() -> Iterator[None]:
    """Re-raise a lone exception out of the exception group an anyio task group wraps it in.

    Design decision 6: an error from user code surfaces as itself, not wrapped by our task
    groups, so ``except ValueError`` and exception handlers keep working. A group holding
    several real errors is re-raised as it is.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        error = unwrap_group(group)
        if error is group:
            raise
        raise error from group.__cause__
