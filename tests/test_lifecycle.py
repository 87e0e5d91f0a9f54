"""The production lifecycle: health endpoints, the application's drain, its triggers."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import anyio
import anyio.to_thread
import pytest

from microasgi._routing.lifespan import LifespanError
from microasgi.applications import MicroASGI
from microasgi.lifecycle import liveness, readiness
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response, StreamingResponse
from microasgi.routing import Mount, Route, Router
from microasgi.testclient import AsyncTestClient, TestClient
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

ClientFactory = Callable[..., TestClient]
PROBES = [Route("/readyz", readiness), Route("/livez", liveness)]


async def drive_lifespan(
    app: ASGIApp, incoming: Sequence[str], *, between: Callable[[], Any] | None = None
) -> list[Message]:
    """Play a server's lifespan: deliver ``incoming`` in order; ``between`` runs after startup."""
    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    queue = list(incoming)
    sent: list[Message] = []

    async def receive() -> Message:
        if between is not None and len(queue) < len(incoming) and sent:
            result = between()
            if result is not None:
                await result
        return {"type": queue.pop(0)}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


# --- health ------------------------------------------------------------------------------------


def test_probes_answer_200_without_lifespan(test_client_factory: ClientFactory) -> None:
    # No lifespan event ever (daphne; a parent that does not forward it): ready until drained.
    client = test_client_factory(MicroASGI(routes=PROBES))
    for path, text in (("/readyz", "ready"), ("/livez", "alive")):
        response = client.get(path)
        assert (response.status_code, response.text) == (200, text)
        assert response.headers["cache-control"] == "no-store"
    assert client.head("/readyz").status_code == 200


def test_readiness_turns_503_while_draining(test_client_factory: ClientFactory) -> None:
    app = MicroASGI(routes=PROBES)
    with test_client_factory(app) as client:
        assert client.get("/readyz").status_code == 200
        app.begin_drain()
        response = client.get("/readyz")
        assert (response.status_code, response.text) == (503, "not ready: draining")
        assert client.get("/livez").status_code == 200  # never restarted for draining


async def test_readiness_is_503_until_startup_completes_and_from_shutdown() -> None:
    seen: list[tuple[str, int, str]] = []

    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncIterator[None]:
        probe = AsyncTestClient(app)  # no lifespan of its own: requests only
        response = await probe.get("/readyz")
        seen.append(("startup", response.status_code, response.text))
        yield
        response = await probe.get("/readyz")
        seen.append(("shutdown", response.status_code, response.text))

    app = MicroASGI(routes=PROBES, lifespan=lifespan)
    async with AsyncTestClient(app) as client:
        response = await client.get("/readyz")
        seen.append(("started", response.status_code, response.text))
    assert seen == [
        ("startup", 503, "not ready: starting up"),
        ("started", 200, "ready"),
        ("shutdown", 503, "not ready: shutting down"),
    ]


def test_readiness_outside_a_microasgi_app(test_client_factory: ClientFactory) -> None:
    # Routed in a bare router: no application state to read, so ready.
    client = test_client_factory(Router(PROBES))
    assert client.get("/readyz").text == "ready"


# --- the drain ---------------------------------------------------------------------------------


async def test_begin_drain_is_idempotent_and_wakes_waiters() -> None:
    app = MicroASGI()
    assert not app.draining
    woken = anyio.Event()

    async def waiter() -> None:
        await app.wait_for_drain()
        woken.set()

    async with anyio.create_task_group() as group:
        group.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        await anyio.to_thread.run_sync(app.begin_drain)  # from another thread
        app.begin_drain()
        with anyio.fail_after(5):
            await woken.wait()
    assert app.draining


def _echo_stream(release: anyio.Event, started: anyio.Event) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"first "
            started.set()
            await release.wait()
            yield b"last"

        return StreamingResponse(body())

    return endpoint


async def test_connection_close_only_while_draining() -> None:
    release, started = anyio.Event(), anyio.Event()
    app = MicroASGI(
        routes=[
            Route("/", lambda request: PlainTextResponse("ok")),
            Route("/stream", _echo_stream(release, started)),
            *PROBES,
        ]
    )
    async with AsyncTestClient(app) as client:
        assert "connection" not in (await client.get("/")).headers
        # A request in progress when the drain begins finishes normally.
        async with anyio.create_task_group() as group:
            responses: list[Any] = []

            async def streamed() -> None:
                responses.append(await client.get("/stream"))

            group.start_soon(streamed)
            await started.wait()
            app.begin_drain()
            release.set()
        assert responses[0].content == b"first last"
        response = await client.get("/")
        assert (response.status_code, response.headers["connection"]) == (200, "close")
        assert (await client.get("/readyz")).headers["connection"] == "close"


def _http2(app: ASGIApp) -> ASGIApp:
    async def served_over_http2(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["http_version"] = "2"
        await app(scope, receive, send)

    return served_over_http2


def test_no_connection_header_over_http2(test_client_factory: ClientFactory) -> None:
    # SPEC: RFC 9113 section 8.2.2, HTTP/2 forbids connection-specific header fields.
    app = MicroASGI(routes=PROBES)
    app.begin_drain()
    response = test_client_factory(_http2(app)).get("/livez")
    assert response.status_code == 200
    assert "connection" not in response.headers


async def test_shutdown_notice_begins_the_drain() -> None:
    order: list[str] = []

    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncIterator[None]:
        order.append("startup")
        yield
        order.append(f"shutdown, draining={app.draining}")

    app = MicroASGI(lifespan=lifespan)
    sent = await drive_lifespan(
        app, ["lifespan.startup", "lifespan.shutdown.notice", "lifespan.shutdown"]
    )
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert order == ["startup", "shutdown, draining=True"]


async def test_a_bare_router_ignores_the_shutdown_notice() -> None:
    sent = await drive_lifespan(
        Router(), ["lifespan.startup", "lifespan.shutdown.notice", "lifespan.shutdown"]
    )
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


async def test_other_lifespan_messages_reach_the_router() -> None:
    with pytest.raises(LifespanError, match=r"'lifespan.bogus' after startup"):
        await drive_lifespan(MicroASGI(), ["lifespan.startup", "lifespan.bogus"])


def test_a_new_lifespan_ends_the_drain(test_client_factory: ClientFactory) -> None:
    app = MicroASGI(routes=PROBES)
    with test_client_factory(app) as client:
        app.begin_drain()
        assert client.get("/readyz").status_code == 503
    with test_client_factory(app) as client:  # the same app, served again
        assert not app.draining
        assert client.get("/readyz").status_code == 200


def test_mounted_apps_drain_with_their_parent(test_client_factory: ClientFactory) -> None:
    child = MicroASGI(routes=PROBES)
    inner = MicroASGI(routes=PROBES)
    parent = MicroASGI(
        routes=[Mount("/child", child), Mount("/nested", routes=[Mount("/inner", inner)])]
    )
    with test_client_factory(parent) as client:
        assert client.get("/child/readyz").status_code == 200
        parent.begin_drain()
        assert child.draining
        assert inner.draining
        assert client.get("/child/readyz").status_code == 503
        assert client.get("/nested/inner/readyz").status_code == 503


# --- signals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [["SIGTERM"], [True], [10_000]])
def test_drain_signals_are_checked(bad: list[Any]) -> None:
    with pytest.raises(ValueError, match="drain_signals must hold signal numbers"):
        MicroASGI(drain_signals=bad)


async def test_a_drain_signal_begins_the_drain_and_chains() -> None:
    # The lifespan runs in the main thread here, as under uvicorn: the hook is installed over
    # the handler in place (the server's) and calls it, and is removed at shutdown.
    calls: list[int] = []

    def server_handler(number: int, frame: FrameType | None) -> None:
        calls.append(number)

    previous = signal.signal(signal.SIGUSR1, server_handler)
    try:
        app = MicroASGI(drain_signals=[signal.SIGUSR1])

        def raise_it() -> None:
            assert signal.getsignal(signal.SIGUSR1) is not server_handler
            signal.raise_signal(signal.SIGUSR1)
            assert app.draining

        await drive_lifespan(app, ["lifespan.startup", "lifespan.shutdown"], between=raise_it)
        assert calls == [signal.SIGUSR1]
        assert signal.getsignal(signal.SIGUSR1) is server_handler  # put back
    finally:
        signal.signal(signal.SIGUSR1, previous)


async def test_a_drain_signal_keeps_the_default_action() -> None:
    # With no handler before ours, the default action still happens (SIGWINCH's: nothing).
    previous = signal.signal(signal.SIGWINCH, signal.SIG_DFL)
    try:
        app = MicroASGI(drain_signals=[signal.SIGWINCH])

        def raise_it() -> None:
            signal.raise_signal(signal.SIGWINCH)
            assert app.draining
            assert signal.getsignal(signal.SIGWINCH) == signal.SIG_DFL

        await drive_lifespan(app, ["lifespan.startup", "lifespan.shutdown"], between=raise_it)
    finally:
        signal.signal(signal.SIGWINCH, previous)


async def test_an_ignored_signal_stays_ignored() -> None:
    previous = signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    try:
        app = MicroASGI(drain_signals=[signal.SIGUSR2])

        def raise_it() -> None:
            signal.raise_signal(signal.SIGUSR2)
            assert app.draining

        await drive_lifespan(app, ["lifespan.startup", "lifespan.shutdown"], between=raise_it)
        assert signal.getsignal(signal.SIGUSR2) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGUSR2, previous)


def test_drain_signals_outside_the_main_thread_are_reported(
    test_client_factory: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # The test client runs the lifespan in a thread of its own: no signal handler there.
    before = signal.getsignal(signal.SIGUSR2)
    app = MicroASGI(drain_signals=[signal.SIGUSR2])
    with caplog.at_level(logging.WARNING, logger="microasgi"), test_client_factory(app):
        assert signal.getsignal(signal.SIGUSR2) is before
    assert "SIGUSR2 will not begin the drain" in caplog.text


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("fails", [False, True], ids=["complete", "failed"])
async def test_nothing_is_awaited_after_the_shutdown_answer(fails: bool) -> None:
    # hypercorn (asyncio) cancels the lifespan task as soon as it has the shutdown's answer: a
    # checkpoint left after it (the tasks' group closing) let that cancellation escape, and
    # hypercorn exited with status 1 (seen on Python 3.12 and 3.13). Trio has no such native
    # cancellation: a server there cancels through scopes, which the group's exit shields.
    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncIterator[None]:
        yield
        if fails:
            raise RuntimeError("shutdown failed")

    app = MicroASGI(lifespan=lifespan)
    answers: list[str] = []
    incoming = iter(["lifespan.startup", "lifespan.shutdown"])

    async def receive() -> Message:
        return {"type": next(incoming)}

    answered = asyncio.Event()

    async def send(message: Message) -> None:
        answers.append(message["type"])
        if message["type"].startswith("lifespan.shutdown."):
            answered.set()

    async def run() -> str:
        scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        try:
            await app(scope, receive, send)
        except RuntimeError as exc:
            return str(exc)
        return "returned"

    task = asyncio.get_running_loop().create_task(run())
    # As hypercorn: once the answer is in, the lifespan task is cancelled and awaited.
    await answered.wait()
    task.cancel()
    try:
        outcome = await task
    except asyncio.CancelledError:
        outcome = "cancelled after its answer"
    answer = "lifespan.shutdown.failed" if fails else "lifespan.shutdown.complete"
    assert answers == ["lifespan.startup.complete", answer]
    assert outcome == ("shutdown failed" if fails else "returned")
