"""Measure that a parser's time grows linearly with its input (CWE-1333, CWE-407, CWE-400).

A quadratic parser takes four times as long on twice the input, a cubic one eight times; a linear
one twice. ``assert_linear`` times the parser on ``n``, ``2n`` and ``4n`` copies of an adversarial
unit (the fastest of a few runs, the sizes alternating so that load from other processes hits
them alike) and asserts that doubling the input costs at most ``ratio`` times as much.

Both doublings are measured and the smaller growth counts: a super-linear parser grows too fast
at every size, while a linear one can show a one-off step when its data outgrows a CPU cache.
Sizes are chosen so one run takes about a millisecond: long enough to measure, short enough for the
whole package to run in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Noise on two shared cores can make one measurement slow; a super-linear parser fails every
# attempt, so a retry only forgives noise.
_ATTEMPTS = 3


def _timed(run: Callable[[T], object], data: T) -> float:
    started = time.perf_counter()
    run(data)
    return time.perf_counter() - started


def assert_linear(
    build: Callable[[int], T],
    run: Callable[[T], object],
    n: int,
    *,
    ratio: float = 3.0,
    repeat: int = 5,
) -> None:
    """Assert that doubling the input of ``run`` multiplies its time by at most ``ratio``.

    Args:
        build: makes the input of size ``n`` (e.g. ``lambda n: ";" * n``).
        run: the parser call; its result and any error it raises are the caller's business, so
            ``run`` should catch the documented error itself.
        n: the smallest size; pick it so that one run takes about a millisecond.
        ratio: the largest accepted growth for a doubled input (2 is exactly linear).
        repeat: runs per size; the fastest counts.
    """
    inputs = [build(n), build(2 * n), build(4 * n)]
    run(inputs[0])  # warm caches and lazy imports before timing
    measured = []
    for _ in range(_ATTEMPTS):
        best = [float("inf")] * len(inputs)
        for _ in range(repeat):
            for index, data in enumerate(inputs):
                best[index] = min(best[index], _timed(run, data))
        # A floor keeps sub-microsecond timings (a constant-time parser) from dividing noise.
        growth = min(best[1] / max(best[0], 1e-5), best[2] / max(best[1], 1e-5))
        if growth <= ratio:
            return
        measured.append(" -> ".join(f"{seconds * 1000:.2f} ms" for seconds in best))
    raise AssertionError(
        f"Doubling the input from {n} units multiplied the time by more than {ratio}: "
        f"{'; '.join(measured)}."
    )
