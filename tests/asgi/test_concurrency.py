from __future__ import annotations

import functools
from typing import Any

import pytest

from microasgi._asgi.concurrency import collapse_excgroups, is_async_callable, unwrap_group


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


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ExceptionGroup("g", [ValueError("x")]), ValueError),
        (BaseExceptionGroup("g", [ExceptionGroup("h", [KeyError("k")])]), KeyError),
        (ExceptionGroup("g", [ValueError("x"), KeyError("k")]), ExceptionGroup),
        (ValueError("plain"), ValueError),
    ],
)
def test_collapse_excgroups(raised: BaseException, expected: type[BaseException]) -> None:
    with pytest.raises(expected) as info, collapse_excgroups():
        raise raised
    assert type(info.value) is expected


def test_unwrap_group_flattens_nested_groups() -> None:
    inner = ValueError("x")
    assert (
        unwrap_group(BaseExceptionGroup("outer", [BaseExceptionGroup("inner", [inner])])) is inner
    )
    two = BaseExceptionGroup("two", [ValueError("a"), KeyError("b")])
    assert unwrap_group(two) is two
