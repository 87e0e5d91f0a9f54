"""One application object served by several threads at once, each with its own event loop.

Under free-threaded CPython (3.13t, 3.14t) granian runs one app in several worker threads, each
running the lifespan, requests and websockets on its own loop (granian/server/mt.py). These tests
do the same with 8 threads, on every interpreter .ci/run finds: with the GIL they check the
logic (lazy building once, state per lifespan, every answer right); on a free-threaded build they
also run truly in parallel. docs/deployment.md, "Pythons", says what has run where.
"""

from __future__ import annotations

import sys
import sysconfig
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Mount, Route, Router, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.types import ASGIApp, Receive, Scope, Send
from microasgi.websockets import WebSocket

THREADS = 8
REQUESTS = 20  # per thread, all at once on its loop


class _Counted:
    """User middleware that counts its instances: one per built stack."""

    instances: list[_Counted]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        type(self).instances.append(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _app(started: list[str], stopped: list[str], lock: threading.Lock) -> MicroASGI:
    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncIterator[dict[str, Any]]:
        with lock:
            worker = f"worker-{len(started)}"
            started.append(worker)
        yield {"worker": worker}
        with lock:
            stopped.append(worker)

    async def item(request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "id": request.path_params["id"],
                "body": body.decode(),
                "worker": request.state.worker,
                "query": request.query_params["q"],
            }
        )

    async def ping(request: Request) -> Response:
        return JSONResponse({"n": request.path_params["n"], "worker": request.state.worker})

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text(f"{websocket.state.worker}:{text}")

    return MicroASGI(
        routes=[
            Route("/items/{id:int}", item, methods=["POST"]),
            WebSocketRoute("/ws", echo),
            # A mounted router compiles its routes lazily, at its first request.
            Mount("/api", app=Router([Route("/ping/{n:int}", ping)])),
        ],
        middleware=[Middleware(_Counted)],
        lifespan=lifespan,
    )


async def _serve_as_a_worker(app: MicroASGI, index: int) -> str:
    """What one worker thread does: lifespan, concurrent requests and a websocket, shutdown."""
    async with AsyncTestClient(app) as client:
        worker = str((await client.get("/api/ping/0")).json()["worker"])
        answers: dict[int, Any] = {}

        async def post(n: int) -> None:
            response = await client.post(f"/items/{n}?q=t{index}", content=f"body {index}-{n}")
            answers[n] = (response.status_code, response.json())

        async def ping(n: int) -> None:
            response = await client.get(f"/api/ping/{n}")
            answers[-1 - n] = (response.status_code, response.json())

        async with anyio.create_task_group() as group:
            for n in range(REQUESTS):
                group.start_soon(post, n)
                group.start_soon(ping, n)
        for n in range(REQUESTS):
            body = {"id": n, "body": f"body {index}-{n}", "worker": worker, "query": f"t{index}"}
            assert answers[n] == (200, body)
            assert answers[-1 - n] == (200, {"n": n, "worker": worker})
        async with client.websocket_connect("/ws") as websocket:
            for n in range(5):
                await websocket.send_text(f"{index}-{n}")
                assert await websocket.receive_text() == f"{worker}:{index}-{n}"
    return worker


def _in_threads(target: Callable[[int], Any], count: int = THREADS) -> list[Any]:
    """Run ``target(index)`` in ``count`` threads released together; return the results."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = target(index)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def test_one_app_served_from_eight_threads_each_with_its_loop(anyio_backend_name: str) -> None:
    started: list[str] = []
    stopped: list[str] = []
    _Counted.instances = []
    app = _app(started, stopped, threading.Lock())

    workers = _in_threads(
        lambda index: anyio.run(_serve_as_a_worker, app, index, backend=anyio_backend_name)
    )

    # Each thread's lifespan ran once and its requests saw its own state, not another's.
    assert sorted(workers) == sorted(started) == sorted(stopped)
    assert len(set(workers)) == THREADS
    # The stack was built once, by whichever thread came first, and shared by all.
    assert len(_Counted.instances) == 1


def test_threads_racing_to_the_first_request_build_the_stack_once(
    anyio_backend_name: str,
) -> None:
    # The first thread is held inside the build (in the middleware's constructor) until a second
    # thread builds too, which must not happen: the second waits for the first's stack. The
    # first gives up waiting after a second, the wait that shows the second build never came.
    building = threading.Event()
    second_build = threading.Event()

    class Held(_Counted):
        def __init__(self, app: ASGIApp) -> None:
            super().__init__(app)
            if len(Held.instances) == 1:
                building.set()
                second_build.wait(timeout=1)
            else:
                second_build.set()

    Held.instances = []

    async def hello(request: Request) -> Response:
        return Response("hello")

    app = MicroASGI(routes=[Route("/", hello)], middleware=[Middleware(Held)])

    async def get() -> tuple[int, bytes]:
        response = await AsyncTestClient(app).get("/")
        return response.status_code, response.content

    def request(index: int) -> tuple[int, bytes]:
        if index == 1:
            assert building.wait(timeout=10)
        return anyio.run(get, backend=anyio_backend_name)

    assert _in_threads(request, count=2) == [(200, b"hello"), (200, b"hello")]
    assert len(Held.instances) == 1
    assert not second_build.is_set()


def test_threads_racing_to_a_mounted_router_compile_it_once(anyio_backend_name: str) -> None:
    # A mount served alone compiles its routes at its first request; the first thread is held
    # inside the compilation (binding a route) until a second thread compiles too, which must
    # not happen.
    compiling = threading.Event()
    second_compile = threading.Event()
    binds: list[int] = []

    class HeldRoute(Route):
        def bind(self, convertors: Any) -> Any:
            binds.append(1)
            if len(binds) == 1:
                compiling.set()
                second_compile.wait(timeout=1)
            else:
                second_compile.set()
            return super().bind(convertors)

    async def hello(request: Request) -> Response:
        return Response("hello")

    app = Mount("/api", routes=[HeldRoute("/", hello)])

    async def get() -> tuple[int, bytes]:
        response = await AsyncTestClient(app).get("/api/")
        return response.status_code, response.content

    def request(index: int) -> tuple[int, bytes]:
        if index == 1:
            assert compiling.wait(timeout=10)
        return anyio.run(get, backend=anyio_backend_name)

    assert _in_threads(request, count=2) == [(200, b"hello"), (200, b"hello")]
    assert len(binds) == 1
    assert not second_compile.is_set()


@pytest.mark.skipif(
    not sysconfig.get_config_var("Py_GIL_DISABLED"),
    reason="not a free-threaded build: the tests above ran with the GIL (no parallelism)",
)
def test_a_free_threaded_build_runs_the_tests_without_the_gil() -> None:  # pragma: no cover
    # An extension module without free-threading support turns the GIL back on when imported
    # (with a RuntimeWarning); the tests above would then prove nothing about parallel threads.
    assert not sys._is_gil_enabled()  # type: ignore[attr-defined]
