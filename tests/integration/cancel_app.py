"""The app ``test_server_cancellation`` serves: cancel_on_disconnect, timeout and body_timeout.

``/work?key=K&s=S`` (cancel_on_disconnect) reads the body, then works for S seconds, recording
under K what happened; ``/seen?key=K&n=N`` waits until N records exist for K and returns them.
``/report`` runs past its timeout; ``/upload`` reads its body under a body timeout.
"""

from __future__ import annotations

import anyio

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route, Timeout

TIMEOUT = 0.3
RETRY_AFTER = 7

records: dict[str, list[str]] = {}
changed: dict[str, anyio.Event] = {}


def _record(key: str, what: str) -> None:
    records.setdefault(key, []).append(what)
    changed.pop(key, anyio.Event()).set()


async def work(request: Request) -> Response:
    key = request.query_params["key"]
    body = await request.body()
    _record(key, f"read {len(body)}")
    try:
        await anyio.sleep(float(request.query_params["s"]))  # the work: time passing
    except BaseException:
        _record(key, "cancelled")
        raise
    _record(key, "finished")
    return PlainTextResponse(f"done {len(body)}")


async def seen(request: Request) -> Response:
    key, count = request.query_params["key"], int(request.query_params["n"])
    with anyio.move_on_after(10):
        while len(records.get(key, ())) < count:
            await changed.setdefault(key, anyio.Event()).wait()
    return JSONResponse(records.get(key, []))


async def report(request: Request) -> Response:
    await anyio.sleep_forever()
    return PlainTextResponse("never")  # pragma: no cover


async def upload(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.body())))


app = MicroASGI(
    routes=[
        Route("/work", work, methods=["POST"], cancel_on_disconnect=True),
        Route("/seen", seen),
        Route("/report", report, timeout=Timeout(TIMEOUT, retry_after=RETRY_AFTER)),
        Route("/upload", upload, methods=["POST"], body_timeout=TIMEOUT),
    ]
)
