"""Supervised background work: ``app.tasks``, a task group the lifespan owns."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import pytest

from microasgi.applications import MicroASGI
from microasgi.lifecycle import SupervisedTasks, _Run
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient, TestClient

ClientFactory = Callable[..., TestClient]


async def test_work_started_by_an_endpoint_outlives_the_request() -> None:
    done = anyio.Event()
    results: list[str] = []

    async def work(name: str, *, greeting: str) -> None:
        await anyio.lowlevel.checkpoint()
        results.append(f"{greeting}, {name}")
        done.set()

    async def endpoint(request: Request) -> Response:
        request.app.tasks.start(work, "ada", greeting="hello")
        return PlainTextResponse("accepted", status_code=202)

    app = MicroASGI(routes=[Route("/", endpoint)])
    async with AsyncTestClient(app) as client:
        assert (await client.get("/")).status_code == 202
        with anyio.fail_after(5):
            await done.wait()
    assert results == ["hello, ada"]
    assert app.tasks.running == 0


def test_work_started_from_a_worker_thread(test_client_factory: ClientFactory) -> None:
    # A sync endpoint runs in a worker thread: the start is handed over to the event loop.
    done = threading.Event()

    async def work() -> None:
        done.set()

    def endpoint(request: Request) -> Response:
        request.app.tasks.start(work)
        return PlainTextResponse("ok")

    app = MicroASGI(routes=[Route("/", endpoint)])
    with test_client_factory(app) as client:
        assert client.get("/").text == "ok"
        assert done.wait(5)
        # From the test's own thread too.
        done.clear()
        app.tasks.start(work)
        assert done.wait(5)


async def test_errors_are_logged_and_reported_to_the_exception_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reported: list[tuple[Any, str]] = []
    survivor = anyio.Event()

    async def on_error(request: Any, exc: Exception) -> Response:
        reported.append((request, str(exc)))
        return PlainTextResponse("unused", status_code=500)

    async def fails() -> None:
        raise ValueError("boom")

    async def survives() -> None:
        await anyio.sleep(0.01)
        survivor.set()

    app = MicroASGI(exception_handlers={Exception: on_error})
    with caplog.at_level(logging.ERROR, logger="microasgi"):
        async with AsyncTestClient(app):
            app.tasks.start(survives)
            app.tasks.start(fails)
            with anyio.fail_after(5):
                await survivor.wait()  # the failure did not cancel the other work
    assert reported == [(None, "boom")]
    assert "Background task test_errors_are_logged_and_reported" in caplog.text
    assert "ValueError: boom" in caplog.text


async def test_without_a_handler_errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise ValueError("nobody listens")

    app = MicroASGI()
    with caplog.at_level(logging.ERROR, logger="microasgi"):
        async with AsyncTestClient(app):
            app.tasks.start(fails)
    assert "ValueError: nobody listens" in caplog.text


async def test_work_started_by_a_failed_startup_is_cancelled() -> None:
    cancelled = anyio.Event()

    async def never_ends() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncIterator[None]:
        app.tasks.start(never_ends)
        await anyio.wait_all_tasks_blocked()
        if app.tasks.running:  # always: never_ends runs
            raise RuntimeError("startup failed")
        yield  # pragma: no cover (never reached)

    with pytest.raises(RuntimeError, match="startup failed"):
        async with AsyncTestClient(MicroASGI(lifespan=lifespan)):
            pass  # pragma: no cover - the startup fails
    assert cancelled.is_set()


async def test_a_sync_500_handler_and_a_failing_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reported: list[str] = []

    def on_500(request: Any, exc: Exception) -> Response:
        reported.append(f"{request}: {exc}")
        raise RuntimeError("the handler broke too")

    async def fails() -> None:
        raise ValueError("boom")

    app = MicroASGI(exception_handlers={500: on_500})
    with caplog.at_level(logging.ERROR, logger="microasgi"):
        async with AsyncTestClient(app):  # its shutdown waits for the work, report included
            app.tasks.start(fails)
    assert reported == ["None: boom"]
    assert "failed while reporting the error of background task" in caplog.text


async def test_shutdown_waits_for_work_then_cancels_it() -> None:
    order: list[str] = []
    started = anyio.Event()

    async def finishes() -> None:
        started.set()
        await anyio.sleep(0.01)
        order.append("finished in time")

    async def never_ends() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            order.append("cancelled")

    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncIterator[None]:
        app.tasks.start(never_ends)  # from the lifespan itself
        yield
        order.append("lifespan shutdown code")

    app = MicroASGI(lifespan=lifespan, shutdown_timeout=0.2)
    async with AsyncTestClient(app):
        app.tasks.start(finishes)
        await started.wait()
    assert order == ["finished in time", "cancelled", "lifespan shutdown code"]


async def test_a_zero_timeout_cancels_at_once() -> None:
    cancelled = anyio.Event()

    async def never_ends() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    app = MicroASGI(shutdown_timeout=0)
    with anyio.fail_after(5):
        async with AsyncTestClient(app):
            app.tasks.start(never_ends)
            await anyio.wait_all_tasks_blocked()
    assert cancelled.is_set()


async def test_starting_outside_the_lifespan_says_why() -> None:
    async def work() -> None:
        pass

    app = MicroASGI()
    with pytest.raises(RuntimeError, match=r"lifespan has not started.*with TestClient"):
        app.tasks.start(work)
    async with AsyncTestClient(app):
        pass
    with pytest.raises(RuntimeError, match="lifespan has shut down"):
        app.tasks.start(work)


async def test_starting_during_shutdown_is_refused() -> None:
    errors: list[str] = []

    async def work() -> None:
        pass

    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncIterator[None]:
        yield
        try:
            app.tasks.start(work)
        except RuntimeError as exc:
            errors.append(str(exc))
        try:  # from another thread as well
            await anyio.to_thread.run_sync(app.tasks.start, work)
        except RuntimeError as exc:
            errors.append(str(exc))

    async with AsyncTestClient(MicroASGI(lifespan=lifespan)):
        pass
    assert len(errors) == 2
    assert all("shut down (or is shutting down)" in error for error in errors)


def test_a_start_handed_over_too_late_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    # A start handed from a thread to the loop, which runs it only once shutdown began.
    class Group:
        def start_soon(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("must not start")

    async def work() -> None:
        pass

    tasks = SupervisedTasks()
    run = _Run.__new__(_Run)
    run.accepting = False
    run.group = Group()  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="microasgi"):
        tasks._start_on(run, "work", work, (), {})
    assert "Background task work not started" in caplog.text


def test_several_loops_need_the_caller_on_one_of_them() -> None:
    async def work() -> None:
        pass

    tasks = SupervisedTasks()
    tasks._runs = {-1: _Run.__new__(_Run), -2: _Run.__new__(_Run)}
    with pytest.raises(RuntimeError, match="2 event loops run this application's lifespan"):
        tasks.start(work)


def test_only_async_functions() -> None:
    def blocking() -> None:
        pass

    with pytest.raises(TypeError, match=r"needs an async function.*run_in_threadpool"):
        MicroASGI().tasks.start(blocking)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, math.nan, "10", True, None])
def test_shutdown_timeout_is_checked(bad: Any) -> None:
    with pytest.raises(ValueError, match="shutdown_timeout must be a number of seconds"):
        MicroASGI(shutdown_timeout=bad)


def test_shutdown_timeout_is_kept() -> None:
    assert MicroASGI(shutdown_timeout=3).tasks.shutdown_timeout == 3.0
    assert MicroASGI().tasks.shutdown_timeout == 10.0
    assert MicroASGI(shutdown_timeout=math.inf).tasks.shutdown_timeout == math.inf
