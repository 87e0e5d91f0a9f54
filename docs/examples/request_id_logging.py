"""Request ids in log records: the filter on a handler, right in worker threads and background
tasks of the request."""

from __future__ import annotations

import logging

from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.middleware import Middleware
from microasgi.middleware.request_id import RequestIDLogFilter, RequestIDMiddleware
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route
from microasgi.testclient import TestClient

logger = logging.getLogger("shop")

# Once, where logging is configured: every record through this handler gets request_id.
handler = logging.StreamHandler()
handler.addFilter(RequestIDLogFilter())
handler.setFormatter(logging.Formatter("%(levelname)s [%(request_id)s] %(message)s"))
logger.addHandler(handler)


def send_receipt(order: str) -> None:
    logger.info("receipt sent for %s", order)  # after the response, same request id


def checkout(request: Request) -> Response:  # a plain def: it runs in a worker thread
    logger.info("checking out")
    return PlainTextResponse("ok", background=BackgroundTask(send_receipt, "A-1"))


app = MicroASGI(
    routes=[Route("/checkout", checkout, methods=["POST"])],
    # Outermost, so the peer it judges is the proxy itself (before ProxyHeadersMiddleware).
    middleware=[Middleware(RequestIDMiddleware, trusted_hosts=["10.0.0.0/8"])],
)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIDLogFilter())
        self.setFormatter(logging.Formatter("[%(request_id)s] %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_every_record_of_the_request_carries_its_id() -> None:
    collect = Collect()
    logger.addHandler(collect)
    logger.setLevel(logging.INFO)
    try:
        client = TestClient(app, client=("10.0.0.2", 41000))
        client.post("/checkout", headers={"X-Request-ID": "req-42"})
        logger.info("not in a request")
    finally:
        logger.removeHandler(collect)
    assert collect.lines == [
        "[req-42] checking out",
        "[req-42] receipt sent for A-1",
        "[-] not in a request",
    ]
