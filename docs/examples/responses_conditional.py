from dataclasses import dataclass, field
from datetime import UTC, datetime

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response, conditional_response, precondition_response
from microasgi.routing import Route


@dataclass
class Article:
    title: str
    version: int = 1
    updated: datetime = field(default_factory=lambda: datetime(2026, 1, 2, tzinfo=UTC))


articles = {1: Article("Hello")}
rendered: list[int] = []  # how often an article's JSON was built
CACHING = {"cache-control": "max-age=0, must-revalidate"}


async def stats(request: Request) -> Response:
    # The simplest use: build the response, the ETag is a hash of its body. It saves the
    # client the download, not the server the work.
    return conditional_response(request, JSONResponse({"articles": len(articles)}))


async def article(request: Request) -> Response:
    item = articles[request.path_params["id"]]
    etag, updated = f"article-{item.version}", item.updated
    # The version is cheaper than the JSON: a revalidation is answered before building it.
    early = precondition_response(request, etag=etag, last_modified=updated, headers=CACHING)
    if early is not None:
        return early
    rendered.append(1)
    response = JSONResponse({"title": item.title, "version": item.version}, headers=CACHING)
    return conditional_response(request, response, etag=etag, last_modified=updated)


async def update(request: Request) -> Response:
    item = articles[request.path_params["id"]]
    # If-Match makes the update safe: a client editing an old version gets 412, not a
    # lost update.
    refused = precondition_response(request, etag=f"article-{item.version}")
    if refused is not None:
        return refused
    item.title = (await request.json())["title"]
    item.version += 1
    item.updated = datetime.now(UTC)
    # Judged before the change, as RFC 9110 asks; the answer only announces the new version.
    return JSONResponse({"title": item.title}, headers={"etag": f'"article-{item.version}"'})


app = MicroASGI(
    routes=[
        Route("/stats", stats),
        Route("/articles/{id:int}", article),
        Route("/articles/{id:int}", update, methods=["PUT"]),
    ]
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_revalidation() -> None:
    articles[1], rendered[:] = Article("Hello"), []
    async with AsyncTestClient(app) as client:
        first = await client.get("/articles/1")
        assert first.headers["etag"] == '"article-1"'
        assert first.headers["last-modified"] == "Fri, 02 Jan 2026 00:00:00 GMT"
        again = await client.get("/articles/1", headers={"if-none-match": first.headers["etag"]})
        assert again.status_code == 304  # no body, the cached copy is still good
        assert again.headers["cache-control"] == "max-age=0, must-revalidate"
        assert len(rendered) == 1  # the second request did not build the JSON
        stats = await client.get("/stats")
        cached = await client.get("/stats", headers={"if-none-match": stats.headers["etag"]})
        assert cached.status_code == 304


async def test_lost_update_is_refused() -> None:
    articles[1] = Article("Hello")
    async with AsyncTestClient(app) as client:
        etag = (await client.get("/articles/1")).headers["etag"]
        edit = {"title": "Hello, world"}
        saved = await client.put("/articles/1", json=edit, headers={"if-match": etag})
        assert saved.status_code == 200
        assert saved.headers["etag"] == '"article-2"'
        stale = await client.put("/articles/1", json=edit, headers={"if-match": etag})
        assert stale.status_code == 412  # someone changed it since: fetch it again
