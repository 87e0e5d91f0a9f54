"""A plain (sync) endpoint past its deadline: the client gets 503 at once, the worker thread
finishes on its own."""

import threading

import anyio.to_thread

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route

release = threading.Event()
finished = threading.Event()


def export(request: Request) -> Response:
    release.wait(10)  # blocking work: nothing can interrupt it from outside the thread
    finished.set()
    return PlainTextResponse("exported")  # dropped: the client had its answer


app = MicroASGI(routes=[Route("/export", export, timeout=0.05)])


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_the_request_ends_and_the_thread_runs_on() -> None:
    release.clear()
    finished.clear()
    response = await AsyncTestClient(app).get("/export")
    assert response.status_code == 503
    assert not finished.is_set()  # answered while the thread still works
    release.set()
    await anyio.to_thread.run_sync(finished.wait)  # it finishes on its own
