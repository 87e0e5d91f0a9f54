from __future__ import annotations

import functools
from typing import Any

import pytest

from microasgi._utils import is_async_callable


async def _coro(x: int) -> int:
    return x


def _plain(x: int) -> int:
    return x


class _AsyncCallable:
    async def __call__(self) -> None:
        return None


class _SyncCallable:
    def __call__(self) -> None:
        return None


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (_coro, True),
        (_plain, False),
        (functools.partial(_coro, 1), True),
        (functools.partial(functools.partial(_coro), 1), True),
        (functools.partial(_plain, 1), False),
        (_AsyncCallable(), True),
        (_SyncCallable(), False),
        (_AsyncCallable, False),  # calling the class builds an instance, not a coroutine
        (print, False),
    ],
)
def test_is_async_callable(obj: Any, expected: bool) -> None:
    assert is_async_callable(obj) is expected
