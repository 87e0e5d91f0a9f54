"""A microasgi app mounted inside Starlette and inside FastAPI, tested with our own client."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount as StarletteMount

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient, TestClient


async def order(request: Request) -> Response:
    order_id = request.path_params["id"]
    return JSONResponse(
        {
            "id": order_id,  # converted by microasgi's int convertor
            "root_path": request.scope["root_path"],  # the outer app's mount prefix
            # Names resolve from the outermost router, so they carry the mount's name.
            "next": str(request.url_for("shop:order", id=order_id + 1)),
            "db": request.state.db,  # from the outer app's lifespan
        }
    )


# No lifespan here: Starlette and FastAPI do not forward lifespan events to mounted apps.
shop = MicroASGI(routes=[Route("/orders/{id:int}", order, name="order")])


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[dict[str, str]]:
    yield {"db": "connected"}  # the server copies this state into every request, mounted or not


outer = Starlette(routes=[StarletteMount("/shop", app=shop, name="shop")], lifespan=lifespan)

api = FastAPI(lifespan=lifespan)
api.mount("/shop", shop, name="shop")


@api.get("/")
async def index() -> dict[str, str]:
    return {"docs": "/docs"}


def test_mounted_in_starlette() -> None:
    # Our TestClient speaks plain ASGI, so it drives Starlette and FastAPI apps too (no httpx).
    with TestClient(outer, root_path="/proxy") as client:
        response = client.get("/proxy/shop/orders/41")
    assert response.json() == {
        "id": 41,
        "root_path": "/proxy/shop",
        "next": "http://testserver/proxy/shop/orders/42",
        "db": "connected",
    }


async def test_mounted_in_fastapi() -> None:
    async with AsyncTestClient(api) as client:
        assert (await client.get("/")).json() == {"docs": "/docs"}
        response = await client.get("/shop/orders/1")
        assert response.json()["next"] == "http://testserver/shop/orders/2"
        assert (await client.get("/shop/orders/x")).status_code == 404  # microasgi's own 404
