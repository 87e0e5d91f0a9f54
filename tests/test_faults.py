"""Faults: the client leaves, a task raises, the server cancels, the lifespan fails.

Each test drives one ``MicroASGI`` application (routes, middleware, exception handling: the
whole stack) through a hand-built server side (``Wire``): ``receive`` hands out a script of
messages, then waits until the client has gone; ``send`` records what the app sent and, once the
client has gone, raises ``OSError`` (ASGI 2.4) or does nothing (older servers). Around each fault,
``Leaks`` takes a snapshot of the running tasks, the open file descriptors and the temporary
directory (``tempfile.tempdir`` is pointed at a directory of the test's own), and checks after
the fault that each is back where it was and that no worker thread is still running our code.
Then the next request on the same application must be served normally.

Expected outcomes, per fault:

- the client leaves during the request body (``body()``, ``stream()``, ``form()`` urlencoded
  and multipart with the file spooled to disk): the route ends, nothing is sent (no 500 after a
  disconnect), the app call returns; the spooled file is deleted.
- the client leaves during a ``StreamingResponse`` (async generator, sync iterator in worker
  threads), an ``EventSourceResponse`` with pings, a multi-MiB ``FileResponse``: the app stops
  producing and returns; the producer's ``finally`` ran (``aclose``/``close``), the pinger is
  gone, the file is closed; on ASGI 2.4 and before.
- the client leaves during a websocket (mid-receive; mid-send, where ``send`` raises): the
  session ends quietly, ``on_disconnect`` runs once with the code (the client's; 1006 when the
  connection was lost), the app call returns.
- a background task raises: the response was sent in full first, then the exception reaches
  the server as itself (docs/background.md), and later tasks do not run.
- an endpoint raises before its response: a 500 is sent and the exception reaches the server.
- the server cancels the request (its cancel scope, as on a disconnect or a timeout) while the
  body is read, while the endpoint holds a parsed form, mid-stream: cancellation propagates out
  of the app call, the form's files are deleted, the producer is closed.
- the lifespan raises at startup or shutdown: ``lifespan.*.failed`` is sent with the error in
  its message and the exception is raised to the server; through the test client the error
  surfaces as itself.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import sys
import tempfile
import threading
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
import sniffio

import microasgi
from microasgi.applications import MicroASGI
from microasgi.background import BackgroundTask, BackgroundTasks
from microasgi.datastructures import UploadFile
from microasgi.endpoints import WebSocketEndpoint
from microasgi.formparsers import FormLimits
from microasgi.requests import Request
from microasgi.responses import (
    EventSourceResponse,
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    ServerSentEvent,
    StreamingResponse,
)
from microasgi.routing import Route, WebSocketRoute
from microasgi.testclient import AsyncTestClient
from microasgi.types import Message, Scope
from microasgi.websockets import WebSocket

SPOOL = 1024  # file data kept in memory before a multipart file goes to disk
FILE_SIZE = 4 * 1024 * 1024  # the download: 64 chunks of FileResponse.chunk_size
BOUNDARY = "faultboundary"
UPLOAD = bytes(range(256)) * 64  # 16 KiB: past SPOOL, so the file is on disk mid-body
PACKAGE_DIR = str(Path(microasgi.__file__).resolve().parent)
THIS_FILE = str(Path(__file__).resolve())
TIMEOUT = 5  # seconds any one fault may take before the test fails


class ClientGone(OSError):
    """What a 2.4 server's ``send`` raises once the client has gone."""


# --- the server side ---------------------------------------------------------------------------


class Wire:
    """The server side of one connection.

    Args:
        incoming: the messages ``receive`` hands out, in order. Handing out an
            ``*.disconnect`` message marks the client gone. Once they are all out, ``receive``
            waits until the client has gone and then reports the disconnect, forever.
        leave_after: the client leaves right after the app sent this many body (or websocket)
            messages.
        spec_version: from "2.4" on, ``send`` raises ``ClientGone`` once the client has gone;
            before, it does nothing, as older servers do.
        on_leave: called when the client leaves, to look at the app mid-fault.
    """

    def __init__(
        self,
        incoming: Sequence[Message],
        *,
        leave_after: int | None = None,
        spec_version: str = "2.4",
        on_leave: Callable[[], None] | None = None,
    ) -> None:
        self.incoming = deque(incoming)
        self.sent: list[Message] = []
        self.gone = anyio.Event()
        self.waiting = anyio.Event()  # set once receive has nothing left and waits
        self.leave_after = leave_after
        major, _, minor = spec_version.partition(".")
        self.raises = (int(major), int(minor)) >= (2, 4)
        self.on_leave = on_leave
        self.bodies = 0

    def leave(self) -> None:
        if not self.gone.is_set():
            if self.on_leave is not None:
                self.on_leave()
            self.gone.set()

    async def receive(self) -> Message:
        if self.incoming:
            message = self.incoming.popleft()
            if message["type"].endswith(".disconnect"):
                self.leave()
            return message
        self.waiting.set()
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.gone.is_set():
            if self.raises:
                raise ClientGone("The client has gone.")
            return
        self.sent.append(message)
        if message["type"] in ("http.response.body", "websocket.send"):
            self.bodies += 1
            if self.leave_after is not None and self.bodies >= self.leave_after:
                self.leave()

    @property
    def status(self) -> int | None:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return int(starts[0]["status"]) if starts else None

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    @property
    def ended(self) -> bool:
        """Whether the last body message said the body was complete."""
        last = self.sent[-1] if self.sent else {}
        return last.get("type") == "http.response.body" and not last.get("more_body", False)


def http_scope(
    method: str = "GET",
    path: str = "/ok",
    headers: Sequence[tuple[bytes, bytes]] = (),
    spec_version: str = "2.4",
) -> Scope:
    """An ``http`` scope as uvicorn sends it (no ``extensions`` key)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def websocket_scope(path: str) -> Scope:
    scope = http_scope(path=path)
    del scope["method"]
    scope.update(type="websocket", scheme="ws", subprotocols=[])
    return scope


def chunked(body: bytes, size: int) -> list[Message]:
    """``body`` as ``http.request`` messages of ``size`` bytes, the last one ending the body."""
    pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    return [
        {"type": "http.request", "body": piece, "more_body": index < len(pieces) - 1}
        for index, piece in enumerate(pieces)
    ]


def cut(body: bytes, at: int, size: int = 4096) -> list[Message]:
    """The first ``at`` bytes of ``body`` (more to come), then the client's disconnect."""
    messages = chunked(body[:at], size)
    messages[-1]["more_body"] = True
    return [*messages, {"type": "http.disconnect"}]


def multipart_body(upload: bytes = UPLOAD) -> bytes:
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="note"\r\n\r\nhello\r\n'
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    return head.encode() + upload + f"\r\n--{BOUNDARY}--\r\n".encode()


MULTIPART = (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())
URLENCODED = (b"content-type", b"application/x-www-form-urlencoded")


def with_length(body: bytes, *headers: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [*headers, (b"content-length", str(len(body)).encode())]


async def drive(app: MicroASGI, scope: Scope, wire: Wire) -> BaseException | None:
    """Run one connection; return what the app raised (``None`` if it returned)."""
    with anyio.fail_after(TIMEOUT):
        try:
            await app(scope, wire.receive, wire.send)
        except Exception as exc:
            return exc
    return None


async def get(app: MicroASGI, path: str = "/ok") -> Wire:
    """A whole GET; the client leaves once the response is complete."""
    wire = Wire([{"type": "http.request", "body": b"", "more_body": False}])
    assert await drive(app, http_scope(path=path), wire) is None
    return wire


async def served(app: MicroASGI) -> None:
    """The next requests are served normally: a plain one and one run in a worker thread."""
    for path, body in (("/ok", b"ok"), ("/sync", b"sync ok")):
        wire = await get(app, path)
        assert (wire.status, wire.body, wire.ended) == (200, body, True)


# --- leak checks ---------------------------------------------------------------------------------


def live_tasks() -> set[object]:
    """Every task of the running event loop."""
    if sniffio.current_async_library() == "trio":
        import trio

        def walk(task: trio.lowlevel.Task) -> Iterator[trio.lowlevel.Task]:
            yield task
            for nursery in task.child_nurseries:
                for child in nursery.child_tasks:
                    yield from walk(child)

        root = trio.lowlevel.current_root_task()
        assert root is not None
        return set(walk(root))
    import asyncio

    return set(asyncio.all_tasks())


def busy_threads() -> dict[int, str]:
    """The other threads whose stack runs microasgi's code or this module's (idle workers don't)."""
    busy = {}
    current = threading.get_ident()
    for ident, frame in sys._current_frames().items():
        if ident == current:
            continue
        walker: Any = frame
        while walker is not None:
            filename = walker.f_code.co_filename
            if filename.startswith(PACKAGE_DIR) or filename == THIS_FILE:
                busy[ident] = f"{walker.f_code.co_name} ({filename})"
                break
            walker = walker.f_back
    return busy


def open_files() -> list[str]:
    """What each open file descriptor of this process points to."""
    targets = []
    for name in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{name}"))
        except OSError:
            pass  # the descriptor listing the directory itself, already closed
    return sorted(targets)


@dataclass
class Leaks:
    """Snapshots around one fault; ``check()`` asserts the process is back where it was."""

    spool: Path
    tasks: set[object] = field(default_factory=set)
    files: Counter[str] = field(default_factory=Counter)
    threads: set[int] = field(default_factory=set)
    spooled_mid_fault: list[str] = field(default_factory=list)

    def snapshot(self) -> None:
        # Only what is new counts: the rest of a suite may close its own leftovers meanwhile.
        self.tasks, self.files = live_tasks(), Counter(open_files())
        self.threads = set(busy_threads())

    def spooled(self) -> list[str]:
        """Temporary files under the spool directory: by name, or open without one (O_TMPFILE)."""
        prefix = f"{self.spool}{os.sep}"
        return os.listdir(self.spool) + [f for f in open_files() if f.startswith(prefix)]

    def look_mid_fault(self) -> None:
        """Called when the client leaves: record the temporary files that exist right then."""
        self.spooled_mid_fault = self.spooled()

    def check(self) -> None:
        assert live_tasks() - self.tasks == set()
        busy = busy_threads()
        assert {ident: busy[ident] for ident in busy.keys() - self.threads} == {}
        assert Counter(open_files()) - self.files == Counter()
        assert self.spooled() == []


@pytest.fixture
def leaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Leaks:
    """Temporary files go to a directory of the test's own, so they can be listed."""
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    return Leaks(spool)


@pytest.fixture
def download(tmp_path: Path) -> Path:
    path = tmp_path / "download.bin"
    path.write_bytes(os.urandom(FILE_SIZE))
    return path


# --- the application ---------------------------------------------------------------------------


@dataclass
class Probe:
    """What the application reports from inside: cleanups that ran, disconnects seen."""

    closed: list[str] = field(default_factory=list)  # producers whose finally ran
    ran: list[str] = field(default_factory=list)  # background tasks that ran
    disconnects: list[tuple[str, int]] = field(default_factory=list)  # websocket ends
    holding: anyio.Event = field(default_factory=anyio.Event)  # the endpoint holds its form
    in_thread: list[str] = field(default_factory=list)  # sync producer calls still running


def probe_of(connection: Request | WebSocket) -> Probe:
    probe: Probe = connection.app.state.probe
    return probe


async def ok(request: Request) -> Response:
    return PlainTextResponse("ok")


def sync_ok(request: Request) -> Response:
    return PlainTextResponse("sync ok")


async def body(request: Request) -> Response:
    return JSONResponse({"size": len(await request.body())})


async def stream(request: Request) -> Response:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return JSONResponse({"size": size})


async def form(request: Request) -> Response:
    async with request.form() as data:
        upload = data.get("file")
        digest = None
        if isinstance(upload, UploadFile):
            digest = hashlib.sha256(await upload.read()).hexdigest()
        return JSONResponse({"note": data.get("note"), "sha256": digest})


async def hold_form(request: Request) -> Response:
    await request.form()
    probe_of(request).holding.set()
    await anyio.sleep_forever()
    raise AssertionError("unreachable: the server cancels the request")


async def stream_async(request: Request) -> Response:
    probe = probe_of(request)

    async def numbers() -> AsyncIterator[str]:
        try:
            for n in itertools.count():
                if n == 3:
                    probe.holding.set()
                await anyio.lowlevel.checkpoint()  # awaits its source (one that never does: busy)
                yield f"{n}\n"
        finally:
            probe.closed.append("async")

    return StreamingResponse(numbers(), media_type="text/plain")


async def stream_busy(request: Request) -> Response:
    probe = probe_of(request)

    async def numbers() -> AsyncIterator[str]:
        try:
            for n in itertools.count():
                yield f"{n}\n"  # from memory: never awaits
        finally:
            probe.closed.append("busy")

    return StreamingResponse(numbers(), media_type="text/plain")


def stream_sync(request: Request) -> Response:
    probe = probe_of(request)

    def numbers() -> Iterator[str]:
        try:
            for n in itertools.count():
                probe.in_thread.append("next")
                try:
                    yield f"{n}\n"
                finally:
                    probe.in_thread.pop()
        finally:
            probe.closed.append("sync")

    return StreamingResponse(numbers(), media_type="text/plain")


async def sse(request: Request) -> Response:
    probe = probe_of(request)

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            yield ServerSentEvent(data="one")
            yield ServerSentEvent(data="two")
            await anyio.sleep_forever()  # idle: the pinger keeps the stream alive
        finally:
            probe.closed.append("sse")

    return EventSourceResponse(events(), ping=0.01)


async def file(request: Request) -> Response:
    return FileResponse(request.app.state.download)


async def broken(request: Request) -> Response:
    raise RuntimeError("endpoint broke")


async def background(request: Request) -> Response:
    probe = probe_of(request)

    async def async_failure() -> None:
        probe.ran.append("async")
        raise RuntimeError("background broke")

    def sync_failure() -> None:
        probe.ran.append("sync")
        raise RuntimeError("background broke")

    failing = async_failure if request.path_params["kind"] == "async" else sync_failure
    tasks = BackgroundTasks([BackgroundTask(failing), BackgroundTask(probe.ran.append, "after")])
    return PlainTextResponse("done", background=tasks)


async def ws_session(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        async for text in websocket.iter_text():
            if text == "flood":
                while True:
                    await websocket.send_text("x")
            await websocket.send_text(text)
    finally:
        probe_of(websocket).disconnects.append(("session", websocket._conn.code))


class Echo(WebSocketEndpoint):
    encoding = "text"

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        if data == "flood":
            while True:
                await websocket.send_text("x")
        await websocket.send_text(data)

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        probe_of(websocket).disconnects.append(("endpoint", close_code))


def build(download: Path) -> tuple[MicroASGI, Probe]:
    """The application every fault is driven through, and the probe it reports to."""
    app = MicroASGI(
        routes=[
            Route("/ok", ok),
            Route("/sync", sync_ok),
            Route("/body", body, methods=["POST"]),
            Route("/stream", stream, methods=["POST"]),
            Route("/form", form, methods=["POST"]),
            Route("/hold", hold_form, methods=["POST"]),
            Route("/stream/async", stream_async),
            Route("/stream/sync", stream_sync),
            Route("/stream/busy", stream_busy),
            Route("/sse", sse),
            Route("/file", file),
            Route("/broken", broken),
            Route("/background/{kind}", background),
            WebSocketRoute("/ws/session", ws_session),
            WebSocketRoute("/ws/endpoint", Echo),
        ],
        form_limits=FormLimits(spool_max_size=SPOOL),
    )
    app.state.probe = probe = Probe()
    app.state.download = download
    return app, probe


@asynccontextmanager
async def fault(download: Path, leaks: Leaks) -> AsyncIterator[tuple[MicroASGI, Probe]]:
    """The application, warmed up; on exit, no leak, and the next requests are served."""
    app, probe = build(download)
    await served(app)  # warm-up: threads and lazy state exist before the snapshot
    leaks.snapshot()
    yield app, probe
    leaks.check()
    await served(app)


# --- the client leaves during the request body ---------------------------------------------------

BODY_CASES = [
    pytest.param("/body", b"x" * 50_000, [], id="body"),
    pytest.param("/stream", b"x" * 50_000, [], id="stream"),
    pytest.param("/form", b"note=hello&other=" + b"y" * 50_000, [URLENCODED], id="urlencoded"),
    pytest.param("/form", multipart_body(), [MULTIPART], id="multipart"),
]


@pytest.mark.parametrize(("path", "content", "headers"), BODY_CASES)
async def test_client_leaves_during_the_request_body(
    download: Path,
    leaks: Leaks,
    path: str,
    content: bytes,
    headers: list[tuple[bytes, bytes]],
) -> None:
    async with fault(download, leaks) as (app, _):
        scope = http_scope("POST", path, with_length(content, *headers))
        wire = Wire(cut(content, len(content) - 100), on_leave=leaks.look_mid_fault)
        # ClientDisconnect ends the request quietly: no exception, nothing sent.
        assert await drive(app, scope, wire) is None
        assert wire.sent == []
    if path == "/form" and headers == [MULTIPART]:
        assert leaks.spooled_mid_fault  # the file was on disk when the client left
    # The same request, whole, is served.
    wire = Wire(chunked(content, 4096))
    assert await drive(app, http_scope("POST", path, with_length(content, *headers)), wire) is None
    assert wire.status == 200
    if path == "/form" and headers == [MULTIPART]:
        assert wire.body == (
            b'{"note":"hello","sha256":"%s"}' % hashlib.sha256(UPLOAD).hexdigest().encode()
        )


# --- the client leaves during the response -------------------------------------------------------

STREAM_CASES = [
    *(
        pytest.param(path, producer, leave_after, version, id=f"{producer}-{version}")
        for path, producer, leave_after in [
            ("/stream/async", "async", 3),
            ("/stream/sync", "sync", 3),
            ("/sse", "sse", 4),
        ]
        for version in ("2.3", "2.4")
    ),
    # A producer that never awaits: on 2.3 (uvicorn) send returns at once after a disconnect,
    # so only a scheduler turn per chunk lets the disconnect watcher stop it (F-faults-1).
    *(
        pytest.param("/stream/busy", "busy", 3, version, id=f"busy-{version}")
        for version in ("2.3", "2.4")
    ),
]


@pytest.mark.parametrize(("path", "producer", "leave_after", "spec_version"), STREAM_CASES)
async def test_client_leaves_during_a_stream(
    download: Path, leaks: Leaks, path: str, producer: str, leave_after: int, spec_version: str
) -> None:
    async with fault(download, leaks) as (app, probe):
        wire = Wire(
            [{"type": "http.request", "body": b"", "more_body": False}],
            leave_after=leave_after,
            spec_version=spec_version,
        )
        assert await drive(app, http_scope(path=path, spec_version=spec_version), wire) is None
        assert wire.status == 200
        assert wire.bodies == leave_after
        assert not wire.ended
        # The producer was closed (its finally ran) before the app call returned.
        assert probe.closed == [producer]
        assert probe.in_thread == []
    if producer == "sse":
        chunks = [m["body"] for m in wire.sent if m["type"] == "http.response.body"]
        assert [c for c in chunks if c != b": ping\n\n"] == [b"data: one\n\n", b"data: two\n\n"]


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
async def test_client_leaves_during_a_file_download(
    download: Path, leaks: Leaks, spec_version: str
) -> None:
    content = await anyio.Path(download).read_bytes()
    async with fault(download, leaks) as (app, _):
        wire = Wire(
            [{"type": "http.request", "body": b"", "more_body": False}],
            leave_after=1,
            spec_version=spec_version,
        )
        assert await drive(app, http_scope(path="/file", spec_version=spec_version), wire) is None
        assert (wire.status, wire.bodies) == (200, 1)
        assert wire.body == content[: FileResponse.chunk_size]
        # The file was closed before the app call returned, and no worker thread still reads it.
        assert str(download) not in open_files()
    whole = await get(app, "/file")
    assert whole.body == content


# --- the client leaves during a websocket --------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["session", "endpoint"])
async def test_client_leaves_mid_receive(download: Path, leaks: Leaks, endpoint: str) -> None:
    async with fault(download, leaks) as (app, probe):
        wire = Wire(
            [
                {"type": "websocket.connect"},
                {"type": "websocket.receive", "text": "hi"},
                {"type": "websocket.disconnect", "code": 1001},
            ]
        )
        assert await drive(app, websocket_scope(f"/ws/{endpoint}"), wire) is None
        assert [m["type"] for m in wire.sent] == ["websocket.accept", "websocket.send"]
        assert probe.disconnects == [(endpoint, 1001)]
    await next_connection_served(app, endpoint)


@pytest.mark.parametrize("endpoint", ["session", "endpoint"])
async def test_client_leaves_mid_send(download: Path, leaks: Leaks, endpoint: str) -> None:
    async with fault(download, leaks) as (app, probe):
        wire = Wire(
            [{"type": "websocket.connect"}, {"type": "websocket.receive", "text": "flood"}],
            leave_after=3,
        )
        # The send after the client left raises OSError: the session ends quietly, code 1006.
        assert await drive(app, websocket_scope(f"/ws/{endpoint}"), wire) is None
        assert [m["type"] for m in wire.sent] == ["websocket.accept"] + ["websocket.send"] * 3
        assert probe.disconnects == [(endpoint, 1006)]
    await next_connection_served(app, endpoint)


async def next_connection_served(app: MicroASGI, endpoint: str) -> None:
    wire = Wire(
        [
            {"type": "websocket.connect"},
            {"type": "websocket.receive", "text": "again"},
            {"type": "websocket.disconnect", "code": 1000},
        ]
    )
    assert await drive(app, websocket_scope(f"/ws/{endpoint}"), wire) is None
    assert wire.sent == [
        {"type": "websocket.accept", "subprotocol": None, "headers": []},
        {"type": "websocket.send", "text": "again"},
    ]


# --- errors in the application -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_background_task_raises(download: Path, leaks: Leaks, kind: str) -> None:
    async with fault(download, leaks) as (app, probe):
        wire = Wire([{"type": "http.request", "body": b"", "more_body": False}])
        error = await drive(app, http_scope(path=f"/background/{kind}"), wire)
        # The response went out whole first; then the error reaches the server as itself, and
        # the tasks after the failing one do not run.
        assert (wire.status, wire.body, wire.ended) == (200, b"done", True)
        assert isinstance(error, RuntimeError)
        assert str(error) == "background broke"
        assert probe.ran == [kind]  # not "after"


async def test_endpoint_raises(download: Path, leaks: Leaks) -> None:
    async with fault(download, leaks) as (app, _):
        wire = Wire([{"type": "http.request", "body": b"", "more_body": False}])
        error = await drive(app, http_scope(path="/broken"), wire)
        assert (wire.status, wire.body, wire.ended) == (500, b"Internal Server Error", True)
        assert isinstance(error, RuntimeError)
        assert str(error) == "endpoint broke"


# --- the server cancels the request --------------------------------------------------------------


async def cancelled(
    app: MicroASGI, scope: Scope, wire: Wire, when: anyio.Event, look: Callable[[], None]
) -> bool:
    """Run the app; once ``when`` is set, ``look()`` at it, then cancel it as a server does.

    Returns whether the cancellation came out of the app call (rather than being swallowed).
    """
    outcome: list[bool] = []

    async def serve() -> None:
        try:
            await app(scope, wire.receive, wire.send)
        except anyio.get_cancelled_exc_class():
            outcome.append(True)
            raise
        outcome.append(False)

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as group:
            group.start_soon(serve)
            await when.wait()
            look()
            group.cancel_scope.cancel()
    return outcome == [True]


async def test_cancelled_while_reading_a_multipart_body(download: Path, leaks: Leaks) -> None:
    content = multipart_body()
    async with fault(download, leaks) as (app, _):
        messages = cut(content, len(content) - 100)[:-1]  # no disconnect: the body just stalls
        wire = Wire(messages)
        scope = http_scope("POST", "/form", with_length(content, MULTIPART))
        assert await cancelled(app, scope, wire, wire.waiting, leaks.look_mid_fault)
        assert wire.sent == []
    assert leaks.spooled_mid_fault  # the file was on disk when the server cancelled


async def test_cancelled_while_holding_a_form(download: Path, leaks: Leaks) -> None:
    content = multipart_body()
    async with fault(download, leaks) as (app, probe):
        wire = Wire(chunked(content, 4096))
        scope = http_scope("POST", "/hold", with_length(content, MULTIPART))
        assert await cancelled(app, scope, wire, probe.holding, leaks.look_mid_fault)
        assert wire.sent == []
    assert leaks.spooled_mid_fault  # the parsed form's file was on disk


async def test_cancelled_mid_stream(download: Path, leaks: Leaks) -> None:
    async with fault(download, leaks) as (app, probe):
        wire = Wire([{"type": "http.request", "body": b"", "more_body": False}])
        scope = http_scope(path="/stream/async")
        assert await cancelled(app, scope, wire, probe.holding, lambda: None)
        assert probe.closed == ["async"]
        assert wire.status == 200
        assert not wire.ended


# --- the lifespan raises -------------------------------------------------------------------------


def lifespan_app(fail: str) -> MicroASGI:
    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncIterator[None]:
        if fail == "startup":
            raise RuntimeError("startup broke")
        yield
        raise RuntimeError("shutdown broke")

    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def sync_ok(request: Request) -> Response:
        return PlainTextResponse("sync ok")

    return MicroASGI(routes=[Route("/ok", ok), Route("/sync", sync_ok)], lifespan=lifespan)


@pytest.mark.parametrize("phase", ["startup", "shutdown"])
async def test_lifespan_raises(leaks: Leaks, phase: str) -> None:
    app = lifespan_app(phase)
    await served(app)
    leaks.snapshot()
    wire = Wire([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
    scope["state"] = {}
    error = await drive(app, scope, wire)
    # SPEC: the failure is reported with a message, and the app raises to the server.
    assert isinstance(error, RuntimeError)
    assert str(error) == f"{phase} broke"
    sent = [m["type"] for m in wire.sent]
    expected = ["lifespan.startup.complete"] if phase == "shutdown" else []
    assert sent == [*expected, f"lifespan.{phase}.failed"]
    assert f"RuntimeError: {phase} broke" in wire.sent[-1]["message"]
    leaks.check()
    await served(app)


@pytest.mark.parametrize("phase", ["startup", "shutdown"])
async def test_lifespan_raises_through_the_test_client(leaks: Leaks, phase: str) -> None:
    app = lifespan_app(phase)
    await served(app)
    leaks.snapshot()
    with pytest.raises(RuntimeError, match=f"^{phase} broke$"):
        async with AsyncTestClient(app) as client:
            assert (await client.get("/ok")).text == "ok"
    leaks.check()
    await served(app)
