"""Background tasks: async ones are awaited, sync ones run in a worker thread, in order."""

from __future__ import annotations

import functools
import threading
from typing import Any

import pytest

from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask, BackgroundTasks
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient


class AsyncCallable:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def __call__(self, *args: Any) -> None:
        self.calls.append(args)


async def test_async_function_is_awaited_in_the_event_loop_thread() -> None:
    seen: list[Any] = []

    async def task(a: int, *, b: str) -> None:
        seen.append((a, b, threading.get_ident()))

    background = BackgroundTask(task, 1, b="x")
    assert background.is_async
    await background()
    assert seen == [(1, "x", threading.get_ident())]


@pytest.mark.parametrize("with_kwargs", [True, False])
async def test_sync_function_runs_in_a_worker_thread(with_kwargs: bool) -> None:
    seen: list[Any] = []

    def task(a: int, b: str = "default") -> None:
        seen.append((a, b, threading.get_ident()))

    background = BackgroundTask(task, 1, b="x") if with_kwargs else BackgroundTask(task, 1)
    assert not background.is_async
    await background()
    ((a, b, thread),) = seen
    assert (a, b) == (1, "x" if with_kwargs else "default")
    assert thread != threading.get_ident()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda target: target, id="async-callable-object"),
        pytest.param(lambda target: functools.partial(target, 0), id="partial-of-async"),
    ],
)
async def test_async_callables_are_detected(make: Any) -> None:
    target = AsyncCallable()
    background = BackgroundTask(make(target), 1)
    assert background.is_async
    await background()
    assert target.calls in ([(1,)], [(0, 1)])


@pytest.mark.parametrize("not_callable", [None, 3, "print"])
def test_a_callable_is_required(not_callable: Any) -> None:
    with pytest.raises(TypeError, match="BackgroundTask needs a callable"):
        BackgroundTask(not_callable)


def test_repr_names_the_function() -> None:
    def send_email() -> None: ...

    assert repr(BackgroundTask(send_email)).endswith("send_email)")
    assert repr(BackgroundTask(AsyncCallable())).startswith("BackgroundTask(<")
    tasks = BackgroundTasks([BackgroundTask(send_email)])
    assert repr(tasks).startswith("BackgroundTasks([BackgroundTask(")


async def test_tasks_run_in_the_order_added() -> None:
    order: list[str] = []

    async def first() -> None:
        order.append("first")

    tasks = BackgroundTasks([BackgroundTask(first)])
    tasks.add_task(order.append, "second")
    tasks.add_task(order.append, "third")
    await tasks()
    assert order == ["first", "second", "third"]


async def test_empty_tasks_do_nothing() -> None:
    tasks = BackgroundTasks()
    assert tasks.tasks == []
    await tasks()


async def test_an_error_stops_the_tasks_after_it() -> None:
    order: list[str] = []

    def fail() -> None:
        raise RuntimeError("task failed")

    tasks = BackgroundTasks()
    tasks.add_task(order.append, "before")
    tasks.add_task(fail)
    tasks.add_task(order.append, "after")
    with pytest.raises(RuntimeError, match="task failed"):
        await tasks()
    assert order == ["before"]


def test_tasks_list_is_copied() -> None:
    given = [BackgroundTask(print)]
    tasks = BackgroundTasks(given)
    tasks.add_task(print)
    assert len(given) == 1
    assert len(tasks.tasks) == 2


async def test_an_error_after_the_response_reaches_the_apps_error_handler_as_itself() -> None:
    # As in Starlette: the client has its answer; the 500 handler is called for reporting (a
    # sync task's error crosses the worker thread as itself), and the server gets the error.
    order: list[str] = []
    reported: list[BaseException] = []

    def fail() -> None:
        raise LookupError("task failed")

    async def endpoint(request: Request) -> Response:
        tasks = BackgroundTasks()
        tasks.add_task(order.append, "before")
        tasks.add_task(fail)
        tasks.add_task(order.append, "after")
        return PlainTextResponse("sent", background=tasks)

    async def report(request: Request, exc: Exception) -> Response:
        reported.append(exc)
        return PlainTextResponse("never sent", status_code=500)

    app = MicroASGI(routes=[Route("/", endpoint)], exception_handlers={500: report})
    response = await AsyncTestClient(app, raise_server_exceptions=False).get("/")
    assert (response.status_code, response.text) == (200, "sent")
    assert order == ["before"]
    assert [type(exc) for exc in reported] == [LookupError]
    with pytest.raises(LookupError, match="task failed"):
        await AsyncTestClient(app).get("/")
