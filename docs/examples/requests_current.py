import logging

from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.concurrency import run_in_threadpool
from microasgi.requests import Request, current_request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient

audit_log: list[dict[str, str]] = []


def audit(action: str) -> None:
    """Deep in the call stack, and handed no request: it finds the one it runs for."""
    request = current_request()
    audit_log.append(
        {"action": action, "path": request.url.path, "user": request.headers.get("x-user", "-")}
    )


def load_order(order_id: int) -> dict[str, int]:
    audit("read")  # in a worker thread: the request is still the current one
    return {"id": order_id}


async def order(request: Request) -> Response:
    data = await run_in_threadpool(load_order, request.path_params["id"])
    return JSONResponse(data, background=BackgroundTask(audit, "answered"))


app = MicroASGI(routes=[Route("/orders/{id:int}", order)], request_context=True)


async def test_the_current_request() -> None:
    audit_log.clear()
    client = AsyncTestClient(app)
    response = await client.get("/orders/7", headers={"x-user": "ada"})
    assert response.json() == {"id": 7}
    assert audit_log == [
        {"action": "read", "path": "/orders/7", "user": "ada"},
        {"action": "answered", "path": "/orders/7", "user": "ada"},
    ]


class RequestPathFilter(logging.Filter):
    """A log filter that adds the current request's path to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.path = current_request().url.path
        except RuntimeError:  # logged outside a request (start-up, a scheduled job)
            record.path = "-"
        return True


def test_a_log_filter_outside_a_request() -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "started", None, None)
    assert RequestPathFilter().filter(record)
    assert record.__dict__["path"] == "-"
