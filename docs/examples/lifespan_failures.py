from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from microasgi.routing import Router
from microasgi.testclient import AsyncTestClient
from microasgi.types import Message


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    await connect()  # fails: the server is told, and stops
    yield


async def connect() -> None:
    raise ConnectionError("database unreachable")


router = Router(lifespan=lifespan)


async def test_the_server_is_told_why() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(ConnectionError):
        await router({"type": "lifespan", "state": {}}, receive, send)
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "ConnectionError: database unreachable" in sent[0]["message"]


async def test_the_test_client_raises() -> None:
    with pytest.raises(ConnectionError, match="database unreachable"):
        async with AsyncTestClient(router):
            pass
