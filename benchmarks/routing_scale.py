"""Routing scale: the cost of reaching the last of N routes, microasgi beside Starlette.

Run from a clone with the bench extra installed::

    .venv/bin/pip install -e '.[dev,bench]'
    .venv/bin/python -m benchmarks.routing_scale

Each router holds N routes ``/r{i}/items/{id}`` whose endpoint is the same tiny raw ASGI app, so
the figure is the router's own cost. Apps are called in-process with a prebuilt scope (no server,
no sockets). Rounds are interleaved (microasgi, Starlette, microasgi, ...) and the median round is
reported, so both see the same machine load.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import anyio

from microasgi.types import Message, Receive, Scope, Send

SIZES = (10, 100, 1_000, 10_000)


class _Endpoint:
    """A raw ASGI app (an instance, so both routers pass it through as an app, not a function)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


_endpoint = _Endpoint()


def _microasgi_router(n: int) -> Any:
    import warnings

    from microasgi.routing import Route, Router

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Router([Route(f"/r{i}/items/{{id}}", _endpoint) for i in range(n)])


def _starlette_router(n: int) -> Any:
    from starlette.routing import Route, Router

    return Router([Route(f"/r{i}/items/{{id}}", _endpoint) for i in range(n)])


async def _time_round(app: Any, scope: Scope, calls: int) -> float:
    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    start = time.perf_counter()
    for _ in range(calls):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - start) / calls * 1e6


async def measure(
    builders: dict[str, Callable[[int], Any]], sizes: tuple[int, ...], rounds: int, calls: int
) -> dict[str, dict[int, float]]:
    """Median µs per request for each implementation and size, rounds interleaved."""
    results: dict[str, dict[int, float]] = {name: {} for name in builders}
    for n in sizes:
        apps = {name: build(n) for name, build in builders.items()}
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": f"/r{n - 1}/items/42",
            "raw_path": f"/r{n - 1}/items/42".encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"bench")],
        }
        samples: dict[str, list[float]] = {name: [] for name in builders}
        for app in apps.values():  # warm up
            await _time_round(app, scope, calls // 10 or 1)
        for _ in range(rounds):
            for name, app in apps.items():
                samples[name].append(await _time_round(app, scope, calls))
        for name in builders:
            results[name][n] = statistics.median(samples[name])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    builders: dict[str, Callable[[int], Any]] = {"microasgi": _microasgi_router}
    try:
        import starlette
    except ImportError:
        print("starlette is not installed (pip install -e '.[bench]'): measuring microasgi alone")
    else:
        builders["starlette"] = _starlette_router
        print(f"starlette {starlette.__version__}")
    results = anyio.run(measure, builders, SIZES, args.rounds, args.calls)
    print(f"\n{'routes':>8} | " + " | ".join(f"{name + ' µs/req':>16}" for name in builders))
    print("-" * (11 + 19 * len(builders)))
    for n in SIZES:
        print(f"{n:>8} | " + " | ".join(f"{results[name][n]:>16.2f}" for name in builders))
    print()
    for name in builders:
        ratio = results[name][SIZES[-1]] / results[name][SIZES[0]]
        print(f"{name}: last of {SIZES[-1]:,} routes vs last of {SIZES[0]}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
