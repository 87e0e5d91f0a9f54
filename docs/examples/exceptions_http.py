from microasgi.exceptions import HTTPException
from microasgi.responses import PlainTextResponse
from microasgi.types import Receive, Scope, Send

NOTES = {"1": "Buy milk"}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    try:
        note_id = scope["path"].removeprefix("/notes/")
        if note_id not in NOTES:
            raise HTTPException(404, detail=f"No note {note_id!r}")
        response = PlainTextResponse(NOTES[note_id])
    except HTTPException as exc:
        # The application's ExceptionMiddleware does this for you; a bare app does it by hand.
        response = PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)
    await response(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_http_exception_becomes_the_answer() -> None:
    client = AsyncTestClient(app)
    found = await client.get("/notes/1")
    missing = await client.get("/notes/2")
    assert found.text == "Buy milk"
    assert missing.status_code == 404
    assert missing.text == "No note '2'"


def test_defaults_and_validation() -> None:
    import pytest

    assert HTTPException(404).detail == "Not Found"
    with pytest.raises(ValueError, match="between 100 and 599"):
        HTTPException(1000)
