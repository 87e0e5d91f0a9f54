from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route

REPORTED: list[str] = []  # stands for an error tracker (Sentry, a metrics counter ...)


async def send_receipt(order: int) -> None:
    raise ConnectionError(f"mail server down (order {order})")


async def order(request: Request) -> Response:
    return PlainTextResponse("ordered", background=BackgroundTask(send_receipt, 7))


async def server_error(request: Request, exc: Exception) -> Response:
    REPORTED.append(f"{request.url.path}: {exc}")
    return PlainTextResponse("Sorry, something broke.", status_code=500)


app = MicroASGI(routes=[Route("/order", order)], exception_handlers={Exception: server_error})


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_a_background_error_is_reported() -> None:
    REPORTED.clear()
    # Acting as a server: the client already has its answer when the task fails.
    client = AsyncTestClient(app, raise_server_exceptions=False)
    response = await client.get("/order")
    assert (response.status_code, response.text) == (200, "ordered")
    # The handler still ran, for the report; its own answer could no longer be sent.
    assert REPORTED == ["/order: mail server down (order 7)"]
