from collections.abc import AsyncIterator

from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response, StreamingResponse
from microasgi.routing import Route


async def report(request: Request) -> Response:
    if "year" not in request.query_params:
        raise HTTPException(400, detail="year is required")  # before the response: answered

    async def rows() -> AsyncIterator[str]:
        yield "month,total\n"
        raise HTTPException(409, detail="data changed")  # after it started: cannot be answered

    return StreamingResponse(rows(), media_type="text/csv")


async def conflict(request: Request, exc: HTTPException) -> Response:
    return PlainTextResponse("please retry", status_code=409)  # pragma: no cover (never runs)


app = MicroASGI(routes=[Route("/report", report)], exception_handlers={409: conflict})


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_a_started_response_cannot_be_replaced() -> None:
    import pytest

    early = await AsyncTestClient(app).get("/report")
    assert (early.status_code, early.text) == (400, "year is required")

    with pytest.raises(HTTPException) as info:
        await AsyncTestClient(app).get("/report", params={"year": "2024"})
    # The exception reaches the server as itself, with a note saying why the handler did not run.
    assert info.value.status_code == 409
    assert "the response had already started" in info.value.__notes__[0]

    # The client got the 200 and the rows sent before the error; the server closes the connection.
    server = AsyncTestClient(app, raise_server_exceptions=False)
    late = await server.get("/report", params={"year": "2024"})
    assert (late.status_code, late.text) == (200, "month,total\n")
