"""Worker threads: blocking calls and blocking iterators kept off the event loop."""

from __future__ import annotations

import contextvars
import threading
import warnings
from collections.abc import Iterator

import anyio
import pytest

from microasgi.concurrency import iterate_in_threadpool, run_in_threadpool

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


def describe(a: int, b: int = 0, *, c: int = 0) -> tuple[int, int, int, int, str]:
    return a, b, c, threading.get_ident(), request_id.get()


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((1,), {}, (1, 0, 0)),
        ((1, 2), {}, (1, 2, 0)),
        ((1,), {"b": 2, "c": 3}, (1, 2, 3)),
        ((), {"a": 4}, (4, 0, 0)),
    ],
)
async def test_run_in_threadpool(
    args: tuple[int, ...], kwargs: dict[str, int], expected: tuple[int, int, int]
) -> None:
    token = request_id.set("abc")
    try:
        *values, thread, seen_id = await run_in_threadpool(describe, *args, **kwargs)
    finally:
        request_id.reset(token)
    assert tuple(values) == expected
    assert thread != threading.get_ident()
    assert seen_id == "abc"  # context variables are copied into the worker thread


async def test_run_in_threadpool_raises_the_error() -> None:
    def fail() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        await run_in_threadpool(fail)


async def test_iterate_in_threadpool_yields_each_item_from_a_worker_thread() -> None:
    threads: list[int] = []

    def items() -> Iterator[int | None]:
        for item in (1, None, 3):
            threads.append(threading.get_ident())
            yield item

    assert [item async for item in iterate_in_threadpool(items())] == [1, None, 3]
    assert threading.get_ident() not in threads


@pytest.mark.parametrize("iterable", [[], (), iter([]), set()])
async def test_iterate_in_threadpool_empty(iterable: list[int]) -> None:
    assert [item async for item in iterate_in_threadpool(iterable)] == []


async def test_iterate_in_threadpool_accepts_any_iterable() -> None:
    assert [item async for item in iterate_in_threadpool("ab")] == ["a", "b"]
    assert [item async for item in iterate_in_threadpool(range(3))] == [0, 1, 2]


async def test_iterate_in_threadpool_raises_the_error() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise ValueError("broken iterator")

    seen: list[int] = []

    async def consume() -> None:
        async for item in iterate_in_threadpool(items()):
            seen.append(item)

    with pytest.raises(ValueError, match="broken iterator"):
        await consume()
    assert seen == [1]


async def test_iterate_in_threadpool_sees_context_variables() -> None:
    def items() -> Iterator[str]:
        yield request_id.get()

    token = request_id.set("ctx")
    try:
        assert [item async for item in iterate_in_threadpool(items())] == ["ctx"]
    finally:
        request_id.reset(token)


async def test_iterate_in_threadpool_closes_the_generator_when_left_early() -> None:
    closed: list[bool] = []

    def numbers() -> Iterator[int]:
        try:
            yield from range(10)
        finally:
            closed.append(True)

    agen = iterate_in_threadpool(numbers())
    assert await agen.__anext__() == 0
    await agen.aclose()
    assert closed == [True]


async def test_iterate_in_threadpool_leaves_plain_iterators_alone() -> None:
    agen = iterate_in_threadpool(iter([1, 2]))
    assert await agen.__anext__() == 1
    await agen.aclose()


async def test_run_until_first_complete_is_deprecated_and_cancels_the_rest() -> None:
    from microasgi.concurrency import run_until_first_complete
    from microasgi.exceptions import MicroASGIDeprecationWarning, StarletteDeprecationWarning

    done: list[str] = []
    never = anyio.Event()

    async def quick(name: str) -> None:
        done.append(name)

    async def slow() -> None:
        try:
            await never.wait()
        finally:
            done.append("slow cancelled")

    assert StarletteDeprecationWarning is MicroASGIDeprecationWarning
    with pytest.warns(MicroASGIDeprecationWarning) as record:
        await run_until_first_complete((slow, {}), (quick, {"name": "quick"}))
    assert sorted(done) == ["quick", "slow cancelled"]
    # Starlette's sentence first, so a ported filter on it matches; then the fix.
    (warning,) = record
    assert str(warning.message).startswith(
        "run_until_first_complete is deprecated and will be removed in a future version. Use "
    )
    assert warning.filename == __file__


async def test_run_until_first_complete_warning_matches_starlettes_filter() -> None:
    # Starlette's own pytest configuration ignores it with this filter; so would a ported one.
    from microasgi.concurrency import run_until_first_complete
    from microasgi.exceptions import StarletteDeprecationWarning

    async def quick() -> None:
        pass

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings(
            "ignore",
            "run_until_first_complete is deprecated and will be removed in a future version.",
            StarletteDeprecationWarning,
        )
        await run_until_first_complete((quick, {}))


async def test_run_until_first_complete_raises_one_error_as_itself() -> None:
    from microasgi.concurrency import run_until_first_complete

    async def fails() -> None:
        raise LookupError("boom")

    async def two() -> None:
        raise KeyError("two")

    with pytest.warns(UserWarning, match="deprecated"), pytest.raises(LookupError, match="boom"):
        await run_until_first_complete((fails, {}))
    with pytest.warns(UserWarning, match="deprecated"), pytest.raises(ExceptionGroup):
        await run_until_first_complete((fails, {}), (two, {}))
