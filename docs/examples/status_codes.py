from microasgi import status
from microasgi.responses import PlainTextResponse
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    response = PlainTextResponse("I'm a teapot", status_code=status.HTTP_418_IM_A_TEAPOT)
    await response(scope, receive, send)


def test_constants() -> None:
    assert status.HTTP_404_NOT_FOUND == 404
    assert status.HTTP_413_CONTENT_TOO_LARGE == 413
    assert status.HTTP_413_REQUEST_ENTITY_TOO_LARGE == 413  # the pre-RFC 9110 name still works
    assert status.WS_1008_POLICY_VIOLATION == 1008
