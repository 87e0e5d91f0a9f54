"""Readiness and liveness probes, routed like any endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from microasgi import MicroASGI, Route
from microasgi.lifecycle import liveness, readiness
from microasgi.testclient import AsyncTestClient

during_startup: list[int] = []


@asynccontextmanager
async def lifespan(app: MicroASGI) -> AsyncIterator[None]:
    # A probe that arrives while startup runs is told "not ready".
    during_startup.append((await AsyncTestClient(app).get("/readyz")).status_code)
    yield


app = MicroASGI(routes=[Route("/readyz", readiness), Route("/livez", liveness)], lifespan=lifespan)


async def test_probes() -> None:
    during_startup.clear()
    async with AsyncTestClient(app) as client:
        assert during_startup == [503]
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.text) == (200, "ready")
        assert ready.headers["cache-control"] == "no-store"
        app.begin_drain()
        assert (await client.get("/readyz")).status_code == 503  # taken out of the balancer
        assert (await client.get("/livez")).text == "alive"  # but not restarted
