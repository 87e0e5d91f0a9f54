import hashlib
from collections.abc import Iterator

from microasgi.concurrency import iterate_in_threadpool, run_in_threadpool
from microasgi.responses import PlainTextResponse
from microasgi.types import Receive, Scope, Send


def slow_hash(data: bytes, *, rounds: int) -> str:
    digest = data
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


def read_records() -> Iterator[str]:
    yield from ("alpha", "beta")  # imagine a blocking database cursor


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    digest = await run_in_threadpool(slow_hash, b"secret", rounds=1000)
    records = [record async for record in iterate_in_threadpool(read_records())]
    response = PlainTextResponse(f"{digest[:8]} {','.join(records)}")
    await response(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_blocking_work_off_the_loop() -> None:
    client = AsyncTestClient(app)
    response = await client.get("/")
    assert response.text == f"{slow_hash(b'secret', rounds=1000)[:8]} alpha,beta"
