import pytest

from microasgi import status
from microasgi.exceptions import StarletteDeprecationWarning
from microasgi.responses import PlainTextResponse
from microasgi.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    response = PlainTextResponse("I'm a teapot", status_code=status.HTTP_418_IM_A_TEAPOT)
    await response(scope, receive, send)


def test_constants() -> None:
    assert status.HTTP_404_NOT_FOUND == 404
    assert status.HTTP_413_CONTENT_TOO_LARGE == 413
    assert status.WS_1008_POLICY_VIOLATION == 1008


def test_pre_rfc_9110_names_are_deprecated() -> None:
    # The old name still reads as its code, with Starlette's warning.
    with pytest.warns(StarletteDeprecationWarning, match="Use 'HTTP_413_CONTENT_TOO_LARGE'"):
        assert status.HTTP_413_REQUEST_ENTITY_TOO_LARGE == 413
