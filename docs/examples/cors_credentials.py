"""Cookies across origins: list the origins (or match them), never '*'."""

from __future__ import annotations

import pytest

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.middleware.cors import CORSMiddleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient


async def me(request: Request) -> JSONResponse:
    return JSONResponse({"session": request.cookies.get("session")})


app = MicroASGI(
    routes=[Route("/me", me)],
    middleware=[
        Middleware(
            CORSMiddleware,
            allow_origin_regex=r"https://([a-z0-9-]+\.)?example\.com",
            allow_credentials=True,
        )
    ],
)


async def test_a_matching_origin_gets_credentials() -> None:
    client = AsyncTestClient(app, cookies={"session": "abc"})
    response = await client.get("/me", headers={"origin": "https://shop.example.com"})
    assert response.json() == {"session": "abc"}
    assert response.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert response.headers["access-control-allow-credentials"] == "true"


async def test_the_regex_must_match_the_whole_origin() -> None:
    client = AsyncTestClient(app)
    response = await client.get("/me", headers={"origin": "https://shop.example.com.evil.net"})
    assert "access-control-allow-origin" not in response.headers


def test_any_origin_with_credentials_is_refused() -> None:
    with pytest.raises(ValueError, match="List the origins you trust"):
        CORSMiddleware(app, allow_origins=["*"], allow_credentials=True)
