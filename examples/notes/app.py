"""The notes app: the README's quickstart, and the app the tutorial (docs/tutorial.md) builds.

A JSON API with CRUD on notes kept in SQLite (through worker threads), an HTML page, file
attachments (multipart upload, download with ``Range``), a session (flash messages), a live feed of
changes (Server-Sent Events), and a lifespan that opens and closes the database.

Run it with ``uvicorn examples.notes.app:app``. Settings come from the environment:

- ``MICROASGI_NOTES_DB``: the SQLite file, default ``notes.sqlite3`` in the working directory
  (attachments go to ``notes.sqlite3.files/`` beside it);
- ``MICROASGI_NOTES_SECRET``: the key that signs session cookies; without it a random key is
  made at startup, so sessions do not survive a restart (and do not work across workers).

On daphne, which sends no lifespan events, the app still works: the database opens itself at
the first query, and the feed is never closed (see docs/lifespan.md).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from examples.notes.db import Database, Note
from examples.notes.feed import Feed
from microasgi.applications import MicroASGI
from microasgi.datastructures import Secret, UploadFile
from microasgi.exceptions import HTTPException
from microasgi.middleware import Middleware
from microasgi.middleware.sessions import SessionMiddleware
from microasgi.requests import Request
from microasgi.responses import (
    EventSourceResponse,
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    ServerSentEvent,
)
from microasgi.routing import Mount, Route
from microasgi.staticfiles import StaticFiles
from microasgi.templating import Jinja2Templates

__all__ = ["NoteError", "Store", "app", "create_app", "database_path", "validate_note"]

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")

# --8<-- [start:limits]
MAX_TITLE = 200  # characters
MAX_TEXT = 10_000  # characters of a note's body
MAX_PAGE = 100  # notes in one list
MAX_JSON_BODY = 64 * 1024  # bytes of a request body read into memory (JSON, form fields)
MAX_ATTACHMENT = 10 * 1024 * 1024  # bytes of one uploaded file (spooled to disk, not memory)
# SECURITY: what the browser may render inline. Anything else is served as an opaque download,
# so an uploaded HTML or SVG file cannot run scripts in the app's origin.
SAFE_TYPES = frozenset(
    {"application/pdf", "image/gif", "image/jpeg", "image/png", "image/webp", "text/plain"}
)
# --8<-- [end:limits]


def database_path() -> str:
    """The SQLite file: ``$MICROASGI_NOTES_DB``, else ``notes.sqlite3`` in the working directory."""
    return os.environ.get("MICROASGI_NOTES_DB", "notes.sqlite3")


# --8<-- [start:validation]
class NoteError(Exception):
    """Input that is well-formed JSON but not a valid note; answered with 422 and the errors."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def validate_note(data: Any, *, partial: bool = False) -> dict[str, str]:
    """Check a note's fields: ``title`` (required unless ``partial``) and ``body``.

    Returns:
        The fields given, the title stripped of surrounding spaces.

    Raises:
        NoteError: naming each field that is wrong and why.
    """
    if not isinstance(data, dict):
        raise NoteError({"": f"Expected a JSON object, got {type(data).__name__}."})
    errors: dict[str, str] = {}
    fields: dict[str, str] = {}
    for key in data.keys() - {"title", "body"}:
        errors[key] = "Unknown field; a note has 'title' and 'body'."
    for key, limit in (("title", MAX_TITLE), ("body", MAX_TEXT)):
        if key not in data:
            continue
        value = data[key]
        if not isinstance(value, str):
            errors[key] = f"Must be a string, got {type(value).__name__}."
        elif len(value) > limit:
            errors[key] = f"At most {limit} characters, got {len(value)}."
        else:
            fields[key] = value.strip() if key == "title" else value
    if "title" in fields and not fields["title"]:
        errors["title"] = "Must not be empty."
    if not partial and "title" not in data:
        errors["title"] = "Required."
    if partial and not data:
        errors[""] = "Give 'title', 'body' or both."
    if errors:
        raise NoteError(errors)
    return fields


async def read_json(request: Request) -> Any:
    """The request's JSON body: 415 if it is not JSON, 400 if malformed, 413 if too big."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(415, detail="Send the note as JSON (Content-Type: application/json).")
    return await request.json()


# --8<-- [end:validation]


# --8<-- [start:store]
@dataclass(frozen=True, slots=True)
class Store:
    """What the endpoints share: the database and the feed of changes."""

    db: Database
    feed: Feed


def store(request: Request) -> Store:
    """The store: from the lifespan state, else (no lifespan, as on daphne) the app's own."""
    found: Store | None = getattr(request.state, "store", None)
    return found if found is not None else request.app.state.store


# --8<-- [end:store]


# --8<-- [start:api]
async def list_notes(request: Request) -> Response:
    """``GET /api/notes?limit=&offset=``: the notes, newest first."""
    limit = _int_param(request, "limit", 50, 1, MAX_PAGE)
    offset = _int_param(request, "offset", 0, 0, 2**31)
    notes = await store(request).db.list_notes(limit, offset)
    return JSONResponse({"notes": [n.to_json() for n in notes]})


async def create_note(request: Request) -> Response:
    """``POST /api/notes``: store a note; 201 with its URL in ``Location``."""
    fields = validate_note(await read_json(request))
    note = await _create(request, fields.get("title", ""), fields.get("body", ""))
    location = str(request.url_for("note", note_id=note.id))
    return JSONResponse(note.to_json(), status_code=201, headers={"Location": location})


async def read_note(request: Request) -> Response:
    """``GET /api/notes/{note_id}``: one note."""
    return JSONResponse((await _note(request)).to_json())


async def update_note(request: Request) -> Response:
    """``PATCH /api/notes/{note_id}``: change the fields given."""
    fields = validate_note(await read_json(request), partial=True)
    note = await store(request).db.update_note(request.path_params["note_id"], fields)
    if note is None:
        raise _missing(request)
    store(request).feed.publish("updated", {"id": note.id})
    return JSONResponse(note.to_json())


async def delete_note(request: Request) -> Response:
    """``DELETE /api/notes/{note_id}``: delete a note and its attachments; 204."""
    note_id = request.path_params["note_id"]
    if not await store(request).db.delete_note(note_id):
        raise _missing(request)
    store(request).feed.publish("deleted", {"id": note_id})
    return Response(status_code=204)


async def _create(request: Request, title: str, body: str) -> Note:
    note = await store(request).db.create_note(title, body)
    store(request).feed.publish("created", {"id": note.id, "title": note.title})
    return note


async def _note(request: Request) -> Note:
    note = await store(request).db.get_note(request.path_params["note_id"])
    if note is None:
        raise _missing(request)
    return note


def _missing(request: Request) -> HTTPException:
    return HTTPException(404, detail=f"No note {request.path_params['note_id']}.")


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise NoteError({name: f"Must be a whole number from {low} to {high}, got {raw!r}."})
    return int(raw)


# --8<-- [end:api]


# --8<-- [start:attachments]
async def upload(request: Request) -> Response:
    """``POST /api/notes/{note_id}/attachments``: attach the multipart field ``file``."""
    note = await _note(request)
    async with request.form(max_files=1, max_fields=0, max_file_size=MAX_ATTACHMENT) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise NoteError({"file": "Send the file as the multipart form field 'file'."})
        media_type = (file.content_type or "").partition(";")[0].strip().lower()
        attachment = await store(request).db.add_attachment(
            note.id,
            _clean_filename(file.filename),
            media_type if media_type in SAFE_TYPES else "application/octet-stream",
            file.file,
        )
    if attachment is None:  # the note was deleted during the upload
        raise _missing(request)
    store(request).feed.publish("attached", {"id": note.id, "attachment": attachment.id})
    body = attachment.to_json()
    body["url"] = str(request.url_for("download", note_id=note.id, attachment_id=attachment.id))
    return JSONResponse(body, status_code=201, headers={"Location": body["url"]})


async def download(request: Request) -> Response:
    """``GET /api/notes/{note_id}/attachments/{attachment_id}``: the file, with ``Range``."""
    db = store(request).db
    params = request.path_params
    attachment = await db.get_attachment(params["note_id"], params["attachment_id"])
    if attachment is None:
        raise HTTPException(404, detail=f"No attachment {params['attachment_id']} on this note.")
    return FileResponse(
        db.attachment_path(attachment.id),
        media_type=attachment.content_type,
        filename=attachment.filename,  # Content-Disposition: attachment, so it downloads
        headers={"X-Content-Type-Options": "nosniff"},  # SECURITY: no type sniffing either
    )


def _clean_filename(name: str | None) -> str:
    """The last path segment of the client's file name, printable, at most 255 characters."""
    base = (name or "").replace("\\", "/").rpartition("/")[2]
    base = "".join(ch for ch in base if ch.isprintable()).strip()[:255]
    return base or "attachment"


# --8<-- [end:attachments]


# --8<-- [start:feed]
async def feed(request: Request) -> Response:
    """``GET /api/feed``: the changes, as Server-Sent Events, starting with a ``ready`` event."""
    changes = store(request).feed
    if not changes.accepting:
        raise HTTPException(503, detail="Too many live clients.", headers={"Retry-After": "10"})

    async def events() -> AsyncIterator[ServerSentEvent]:
        with changes.subscribe() as stream:
            # Sent once subscribed: from here on, the client misses no change.
            yield ServerSentEvent(event="ready", data="", retry=3000)
            async for event in stream:
                yield event

    return EventSourceResponse(events())


# --8<-- [end:feed]


# --8<-- [start:pages]
async def home(request: Request) -> Response:
    """``GET /``: the notes as an HTML page, with a form to add one."""
    notes = await store(request).db.list_notes(MAX_PAGE)
    flash = request.session.pop("flash", None)  # shown once, then gone
    context = {"notes": notes, "flash": flash, "max_title": MAX_TITLE, "max_text": MAX_TEXT}
    return templates.TemplateResponse(request, "index.html", context)


async def submit(request: Request) -> Response:
    """``POST /``: the HTML form; saves the note, then redirects back to the page (303)."""
    async with request.form(max_files=0, max_fields=2) as form:
        data = {key: value for key, value in form.items() if isinstance(value, str)}
    try:
        fields = validate_note(data)
    except NoteError as exc:
        request.session["flash"] = " ".join(f"{k}: {v}" for k, v in exc.errors.items())
    else:
        note = await _create(request, fields["title"], fields.get("body", ""))
        request.session["flash"] = f"Saved note {note.id}."
    return RedirectResponse(request.url_for("home"), status_code=303)


# --8<-- [end:pages]


# --8<-- [start:errors]
async def http_error(request: Request, exc: HTTPException) -> Response:
    """Every HTTP error (404, 405, 413 ...) as JSON: ``{"detail": ...}``."""
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)


async def note_error(request: Request, exc: NoteError) -> Response:
    """Invalid input: 422 with one message per field."""
    return JSONResponse({"detail": "Invalid input.", "errors": exc.errors}, 422)


# --8<-- [end:errors]


# --8<-- [start:app]
def create_app(
    database: str | os.PathLike[str] | None = None, secret_key: str | None = None
) -> MicroASGI:
    """Build the notes app.

    Args:
        database: the SQLite file; default ``database_path()``.
        secret_key: the session key; default ``$MICROASGI_NOTES_SECRET``, else a random key.
    """
    own = Store(Database(database if database is not None else database_path()), Feed())

    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncIterator[dict[str, Any]]:
        await own.db.open()  # startup: create the schema, fail fast on a bad path
        try:
            yield {"store": own}
        finally:
            own.feed.close()  # ends the live streams, so the server can stop
            await own.db.close()

    key = secret_key or os.environ.get("MICROASGI_NOTES_SECRET") or secrets.token_urlsafe(32)
    notes_app = MicroASGI(
        routes=[
            Route("/", home, name="home"),
            Route("/", submit, methods=["POST"]),
            Route("/api/notes", list_notes),
            Route("/api/notes", create_note, methods=["POST"]),
            Route("/api/notes/{note_id:int}", read_note, name="note"),
            Route("/api/notes/{note_id:int}", update_note, methods=["PATCH"]),
            Route("/api/notes/{note_id:int}", delete_note, methods=["DELETE"]),
            # The body cap bounds an upload whole, file included: this route takes one file of
            # MAX_ATTACHMENT bytes, plus room for the multipart framing around it.
            Route(
                "/api/notes/{note_id:int}/attachments",
                upload,
                methods=["POST"],
                max_body_size=MAX_ATTACHMENT + 64 * 1024,
            ),
            Route("/api/notes/{note_id:int}/attachments/{attachment_id:int}", download),
            Route("/api/feed", feed),
            Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key=Secret(key), max_age=24 * 60 * 60)],
        exception_handlers={HTTPException: http_error, NoteError: note_error},
        lifespan=lifespan,
        max_body_size=MAX_JSON_BODY,
    )
    notes_app.state.store = own  # the fallback for servers without lifespan
    return notes_app


app = create_app()
# --8<-- [end:app]
