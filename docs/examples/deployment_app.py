# myapp.py: serve it with any command below, e.g. `uvicorn myapp:app`.
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from microasgi import MicroASGI, Request, Route
from microasgi.responses import JSONResponse, Response
from microasgi.testclient import AsyncTestClient


@asynccontextmanager
async def lifespan(app: MicroASGI) -> AsyncIterator[dict[str, Any]]:
    # Runs once per worker process, where the server supports lifespan (not under daphne).
    yield {"worker": os.getpid()}


async def item(request: Request) -> Response:
    return JSONResponse(
        {
            "url": str(request.url_for("item", item_id=request.path_params["item_id"])),
            "worker": getattr(request.state, "worker", None),
        }
    )


app = MicroASGI(routes=[Route("/items/{item_id:int}", item, name="item")], lifespan=lifespan)


async def test_url_for_under_a_root_path() -> None:
    # A server started with --root-path /prefix: url_for names the public URL, prefix included.
    async with AsyncTestClient(app, root_path="/prefix") as client:
        response = await client.get("/items/3")
    assert response.json() == {"url": "http://testserver/prefix/items/3", "worker": os.getpid()}


async def test_served_without_lifespan() -> None:
    # Like daphne: no lifespan events (no "async with"), so no state, and one warning in the
    # "microasgi" logger at the first request. (A fresh app: the warning is logged once per app.)
    fresh = MicroASGI(routes=[Route("/items/{item_id:int}", item, name="item")], lifespan=lifespan)
    response = await AsyncTestClient(fresh).get("/items/3")
    assert response.json() == {"url": "http://testserver/items/3", "worker": None}
