"""The classic ASGI scope echo, with a request log kept in SQLite.

Every HTTP request is answered with its ASGI scope as JSON, plus how many requests this app has seen.
Each request is recorded in SQLite; ``GET /_log`` lists the latest ones. The database file comes from
``MICROASGI_ECHO_DB`` (default ``echo.sqlite3`` in the working directory). SQLite calls block, so they
run in a worker thread, never on the event loop.

Run it with ``uvicorn examples.echo:app`` (see the README's quickstart).
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from typing import Any

from microasgi.concurrency import run_in_threadpool
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse
from microasgi.types import Receive, Scope, Send

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS requests ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL)"
)


def database_path() -> str:
    """Where the request log lives."""
    return os.environ.get("MICROASGI_ECHO_DB", "echo.sqlite3")


# ``with connection:`` only commits (or rolls back); closing() closes the connection, which
# Python 3.13 would otherwise report (ResourceWarning) when the object is collected.
def _record(path: str, method: str, url_path: str) -> int:
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(_SCHEMA)
        db.execute(
            "INSERT INTO requests (at, method, path) VALUES (?, ?, ?)",
            (time.time(), method, url_path),
        )
        (count,) = db.execute("SELECT COUNT(*) FROM requests").fetchone()
    return int(count)


def _latest(path: str, limit: int) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(_SCHEMA)
        rows = db.execute(
            "SELECT id, at, method, path FROM requests ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
    return [{"id": i, "at": at, "method": m, "path": p} for i, at, m, p in rows]


def jsonable(value: Any) -> Any:
    """Turn a scope into something JSON can hold: bytes become latin-1 text, tuples lists."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Echo the scope of each HTTP request as JSON; ``GET /_log`` shows the request log."""
    if scope["type"] == "lifespan":
        # Create the table once at startup; servers without lifespan (daphne) still work, since
        # every write also ensures the table exists.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await run_in_threadpool(_latest, database_path(), 0)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        raise ValueError(f"The echo example serves http only, not {scope['type']!r}.")
    request = Request(scope, receive)
    response: PlainTextResponse | JSONResponse
    if request.url.path == "/_log":
        if request.method not in ("GET", "HEAD"):
            response = PlainTextResponse("Method Not Allowed", 405, headers={"Allow": "GET, HEAD"})
        else:
            latest = await run_in_threadpool(_latest, database_path(), 20)
            response = JSONResponse({"latest": latest})
    else:
        count = await run_in_threadpool(_record, database_path(), request.method, request.url.path)
        response = JSONResponse({"scope": jsonable(dict(scope)), "requests_seen": count})
    await response(scope, receive, send)
