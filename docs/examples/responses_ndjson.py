import json
from collections.abc import AsyncIterator, Iterator

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import NDJSONResponse
from microasgi.routing import Route


async def search_results(query: str) -> AsyncIterator[dict[str, object]]:
    # Each object becomes one line, sent as soon as it is yielded.
    for rank, title in enumerate(["Café au lait", "Flat white"], start=1):
        yield {"rank": rank, "title": title, "query": query}


def export_rows() -> Iterator[list[object]]:
    # A blocking generator (a database cursor, a file): iterated in a worker thread.
    yield ["id", "total"]
    yield [1, 9.5]


async def search(request: Request) -> NDJSONResponse:
    return NDJSONResponse(search_results(request.query_params.get("q", "")))


async def export(request: Request) -> NDJSONResponse:
    return NDJSONResponse(export_rows())


app = MicroASGI(routes=[Route("/search", search), Route("/export", export)])


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_ndjson() -> None:
    async with AsyncTestClient(app) as client:
        response = await client.get("/search", params={"q": "coffee"})
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = response.text.splitlines()
        assert lines[0] == '{"rank":1,"title":"Café au lait","query":"coffee"}'
        assert [json.loads(line)["rank"] for line in lines] == [1, 2]
        exported = await client.get("/export")
        assert exported.text == '["id","total"]\n[1,9.5]\n'


async def test_client_reads_line_by_line() -> None:
    async with AsyncTestClient(app) as client, client.stream("GET", "/search") as response:
        titles = [json.loads(line)["title"] async for line in response.aiter_lines()]
    assert titles == ["Café au lait", "Flat white"]
