from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route


async def divide(request: Request) -> Response:
    return PlainTextResponse(str(1 / int(request.query_params["by"])))


async def server_error(request: Request, exc: Exception) -> Response:
    # Answers any unhandled exception (key 500 or Exception); the exception is re-raised after.
    return PlainTextResponse("Something broke; we are on it.", status_code=500)


app = MicroASGI(routes=[Route("/divide", divide)], exception_handlers={500: server_error})
debug_app = MicroASGI(routes=[Route("/divide", divide)], debug=True)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_500_handler_and_debug_page() -> None:
    import pytest

    # raise_server_exceptions=False: the client behaves as a server, which logs and carries on.
    client = AsyncTestClient(app, raise_server_exceptions=False)
    response = await client.get("/divide", params={"by": "0"})
    assert (response.status_code, response.text) == (500, "Something broke; we are on it.")
    # By default the test client re-raises what reached the server: the error is never hidden.
    with pytest.raises(ZeroDivisionError):
        await AsyncTestClient(app).get("/divide", params={"by": "0"})

    debug = AsyncTestClient(debug_app, raise_server_exceptions=False)
    page = await debug.get("/divide?by=0", headers={"accept": "text/html"})
    text = await debug.get("/divide?by=0", headers={"accept": "*/*"})
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "ZeroDivisionError: division by zero" in page.text
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.text.startswith("Traceback (most recent call last):")
