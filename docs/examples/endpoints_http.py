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


class Notes(HTTPEndpoint):
    async def query(self, request: Request) -> Response:
        # QUERY is a safe method with a body: here, the words to search the notes for.
        words = (await request.body()).decode().lower().split()
        found = [i for i, text in NOTES.items() if all(w in text.lower() for w in words)]
        return JSONResponse(found)


app = MicroASGI(routes=[Route("/notes/{note_id:int}", Note), Route("/notes", Notes)])


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


async def test_query() -> None:
    client = AsyncTestClient(app)
    found = await client.request("QUERY", "/notes", content=b"buy MILK")
    assert found.json() == [1]
    assert (await client.get("/notes")).headers["allow"] == "QUERY"
