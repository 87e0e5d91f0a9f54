from microasgi.applications import MicroASGI
from microasgi.endpoints import HTTPEndpoint
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route

NOTES: dict[int, str] = {1: "Buy milk"}


class Note(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        note_id = request.path_params["note_id"]
        return JSONResponse({"id": note_id, "text": NOTES.get(note_id)})

    def put(self, request: Request) -> Response:
        # A plain method runs in a worker thread: blocking calls are fine here.
        NOTES[request.path_params["note_id"]] = request.query_params["text"]
        return PlainTextResponse("saved")


app = MicroASGI(routes=[Route("/notes/{note_id:int}", Note)])


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_methods_dispatch_and_405() -> None:
    client = AsyncTestClient(app)
    saved = await client.put("/notes/2", params={"text": "Call Bob"})
    note = await client.get("/notes/2")
    head = await client.head("/notes/2")  # served by get(), without the body
    refused = await client.delete("/notes/2")
    assert saved.text == "saved"
    assert note.json() == {"id": 2, "text": "Call Bob"}
    assert (head.status_code, head.content) == (200, b"")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD, PUT"
