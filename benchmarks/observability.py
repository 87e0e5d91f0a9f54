"""Observability's cost (issue 18): route templates, request_context, RequestIDMiddleware and
OpenTelemetryMiddleware, each on, against an app that uses none of them.

Run from a clone::

    .venv/bin/python -m benchmarks.observability            # timed table, µs per request
    .venv/bin/python -m benchmarks.observability --count 1200 --only off --cases mounted

The second form runs that many requests untimed, for an instruction count:
``valgrind --tool=callgrind`` of a run of 1,200 minus one of 200, divided by 1,000, is the
instructions per request without the start-up (docs/performance.md, "The cost of opt-in
features"). Only ``off`` is needed to compare two commits: it runs on trees from before issue 18.

Three requests, each served by one application per setting and called in-process with a prebuilt
scope (no server, no sockets): a plaintext GET of a top-level route, a GET of a route under a
mount with parameters (``/api/{version}/users/{id}``, where routing records the mount for the
route template), and a 404. Rounds are interleaved across settings; the median round is reported.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import anyio

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Mount, Route
from microasgi.types import Message, Scope


async def _plaintext(request: Request) -> Response:
    return PlainTextResponse("Hello, world!")


async def _user(request: Request) -> Response:
    return PlainTextResponse(str(request.path_params["id"]))


ROUTES = [
    Route("/plaintext", _plaintext),
    Mount("/api/{version}", routes=[Route("/users/{id:int}", _user)]),
]


def _off() -> MicroASGI:
    return MicroASGI(routes=ROUTES)


def _request_context() -> MicroASGI:
    return MicroASGI(routes=ROUTES, request_context=True)


def _request_id() -> MicroASGI:
    from microasgi.middleware.request_id import RequestIDMiddleware

    return MicroASGI(routes=ROUTES, middleware=[Middleware(RequestIDMiddleware)])


def _opentelemetry() -> MicroASGI:
    # The SDK's providers with nothing to export to: the middleware's own work and the SDK's
    # span and metric bookkeeping, no exporter.
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    from microasgi.middleware.opentelemetry import OpenTelemetryMiddleware

    middleware = Middleware(
        OpenTelemetryMiddleware, tracer_provider=TracerProvider(), meter_provider=MeterProvider()
    )
    return MicroASGI(routes=ROUTES, middleware=[middleware])


SETTINGS: dict[str, Callable[[], MicroASGI]] = {
    "off": _off,
    "request_context": _request_context,
    "request_id": _request_id,
    "opentelemetry": _opentelemetry,
}


def _scope(path: str) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench.local")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


CASES: dict[str, tuple[Scope, int, bytes]] = {
    "plaintext": (_scope("/plaintext"), 200, b"Hello, world!"),
    "mounted": (_scope("/api/v2/users/7"), 200, b"7"),
    "not found": (_scope("/nowhere"), 404, b"Not Found"),
}


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def run(app: Any, case: str, calls: int) -> float:
    """µs per request over ``calls`` requests of ``case``."""
    template = CASES[case][0]

    async def send(message: Message) -> None:
        return None

    start = time.perf_counter()
    for _ in range(calls):
        await app(dict(template), _receive, send)
    return (time.perf_counter() - start) / calls * 1e6


async def check(app: Any, case: str) -> None:
    """Fail unless ``app`` answers ``case`` as expected (a fast wrong answer is no result)."""
    template, status, body = CASES[case]
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await app(dict(template), _receive, send)
    if sent[0]["status"] != status or sent[1]["body"] != body:
        raise RuntimeError(f"{case}: unexpected answer {sent!r}")


async def measure(
    settings: list[str], cases: list[str], rounds: int, calls: int
) -> dict[tuple[str, str], float]:
    """Median µs per request for each (setting, case), rounds interleaved across settings."""
    apps = {name: SETTINGS[name]() for name in settings}
    samples: dict[tuple[str, str], list[float]] = {(s, c): [] for s in settings for c in cases}
    for case in cases:
        for app in apps.values():
            await check(app, case)
            await run(app, case, calls // 10 or 1)  # warm up
        for _ in range(rounds):
            for name, app in apps.items():
                samples[name, case].append(await run(app, case, calls))
    return {key: statistics.median(values) for key, values in samples.items()}


async def count(setting: str, cases: list[str], calls: int) -> None:
    """Run ``calls`` requests of each case, untimed (for an instruction count).

    The garbage collector is off: when its passes fall depends on every allocation since the
    start, so they would move counts by about a thousand instructions a request between two
    builds that differ by a line run at import. What remains is the requests' own code.
    """
    app = SETTINGS[setting]()
    for case in cases:
        await check(app, case)
    gc.collect()
    gc.disable()
    try:
        for case in cases:
            await run(app, case, calls)
    finally:
        gc.enable()


def _names(value: str, known: Callable[[], Any]) -> list[str]:
    names = [name for name in value.split(",") if name]
    unknown = [name for name in names if name not in known()]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {list(known())}")
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--count", type=int, default=0, help="run N requests untimed, then exit")
    parser.add_argument("--only", type=lambda v: _names(v, SETTINGS.keys), default=list(SETTINGS))
    parser.add_argument("--cases", type=lambda v: _names(v, CASES.keys), default=list(CASES))
    args = parser.parse_args(argv)
    if args.count:
        for setting in args.only:
            anyio.run(count, setting, args.cases, args.count)
        return
    results = anyio.run(measure, args.only, args.cases, args.rounds, args.calls)
    print(f"{'setting':>16} | " + " | ".join(f"{case + ' µs/req':>18}" for case in args.cases))
    print("-" * (19 + 21 * len(args.cases)))
    for name in args.only:
        row = " | ".join(f"{results[name, case]:>18.2f}" for case in args.cases)
        print(f"{name:>16} | {row}")


if __name__ == "__main__":
    main()
