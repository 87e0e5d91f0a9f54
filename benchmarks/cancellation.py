"""Cancellation's cost: cancel_on_disconnect, timeout and body_timeout, each on and all off.

Run from a clone::

    .venv/bin/python -m benchmarks.cancellation

The same two endpoints (a plaintext GET, and a POST reading a 1 KiB body sent in 4 messages) are
served by one application per setting, called in-process with a prebuilt scope: no server, no
sockets. ``receive`` hands out the body, then waits as a server's does until the response is
complete (a client that stays connected), so a watcher, when there is one, listens all along.
Rounds are interleaved across settings and the median round is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import anyio

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.types import Message, Scope

SETTINGS: dict[str, dict[str, Any]] = {
    "off": {},
    "timeout": {"timeout": 30},
    "body_timeout": {"body_timeout": 30},
    "cancel_on_disconnect": {"cancel_on_disconnect": True},
    "all three": {"timeout": 30, "body_timeout": 30, "cancel_on_disconnect": True},
}
BODY = [b"x" * 256] * 4


async def _plaintext(request: Request) -> Response:
    return PlainTextResponse("Hello, world!")


async def _upload(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.body())))


def build(options: dict[str, Any]) -> MicroASGI:
    """The app for one setting: the options apply to the whole application."""
    routes = [Route("/plaintext", _plaintext), Route("/upload", _upload, methods=["POST"])]
    return MicroASGI(routes=routes, **options)


def _scope(method: str, path: str) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench.local")],
        "state": {},
    }


CASES: dict[str, tuple[Scope, list[Message]]] = {
    "plaintext": (_scope("GET", "/plaintext"), [{"type": "http.request", "body": b""}]),
    "upload": (
        _scope("POST", "/upload"),
        [
            {"type": "http.request", "body": chunk, "more_body": i < len(BODY) - 1}
            for i, chunk in enumerate(BODY)
        ],
    ),
}


async def run(app: Any, case: str, calls: int) -> float:
    """µs per request over ``calls`` requests of ``case``."""
    template, messages = CASES[case]

    async def send(message: Message) -> None:
        return None

    start = time.perf_counter()
    for _ in range(calls):
        feed = iter(messages)

        async def receive(feed: Any = feed) -> Message:
            message = next(feed, None)
            if message is None:
                await anyio.sleep_forever()  # connected until the app is done with the request
            return message  # type: ignore[return-value]

        await app(dict(template), receive, send)
    return (time.perf_counter() - start) / calls * 1e6


async def measure(
    settings: list[str], cases: list[str], rounds: int, calls: int
) -> dict[tuple[str, str], float]:
    """Median µs per request for each (setting, case), rounds interleaved across settings."""
    apps = {name: build(SETTINGS[name]) for name in settings}
    samples: dict[tuple[str, str], list[float]] = {(s, c): [] for s in settings for c in cases}
    for case in cases:
        for app in apps.values():  # warm up
            await run(app, case, calls // 10 or 1)
        for _ in range(rounds):
            for name, app in apps.items():
                samples[name, case].append(await run(app, case, calls))
    return {key: statistics.median(values) for key, values in samples.items()}


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
    parser.add_argument("--only", type=lambda v: _names(v, SETTINGS.keys), default=list(SETTINGS))
    parser.add_argument("--cases", type=lambda v: _names(v, CASES.keys), default=list(CASES))
    args = parser.parse_args(argv)
    results = anyio.run(measure, args.only, args.cases, args.rounds, args.calls)
    print(f"{'setting':>22} | " + " | ".join(f"{case + ' µs/req':>16}" for case in args.cases))
    print("-" * (25 + 19 * len(args.cases)))
    for name in args.only:
        row = " | ".join(f"{results[name, case]:>16.2f}" for case in args.cases)
        print(f"{name:>22} | {row}")


if __name__ == "__main__":
    main()
