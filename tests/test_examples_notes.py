"""The notes app (examples/notes/): API, validation, attachments, pages, session, feed, lifespan."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from examples.notes import app as notes
from examples.notes.db import Database
from examples.notes.feed import Feed
from microasgi.applications import MicroASGI
from microasgi.testclient import AsyncTestClient


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "notes.sqlite3"


@pytest.fixture
async def app(db_path: Path) -> AsyncIterator[MicroASGI]:
    built = notes.create_app(db_path, secret_key="test-secret")
    yield built
    # Tests without "async with" send no lifespan shutdown, which is what closes the pooled
    # connections; close them here (Python 3.13 warns about a sqlite3 connection left open).
    await built.state.store.db.close()


async def _next_event(lines: AsyncIterator[str]) -> dict[str, str]:
    """Read one Server-Sent Event: its fields up to the blank line that ends it."""
    event: dict[str, str] = {}
    async for line in lines:
        if not line:
            return event
        name, _, value = line.partition(": ")
        event[name] = value
    raise AssertionError(f"the stream ended inside an event: {event!r}")


# --- the JSON API ----------------------------------------------------------------------------


async def test_crud(app: MicroASGI) -> None:
    async with AsyncTestClient(app) as client:
        created = await client.post("/api/notes", json={"title": "  Milk ", "body": "2 litres"})
        assert created.status_code == 201
        note = created.json()
        assert (note["title"], note["body"], note["attachments"]) == ("Milk", "2 litres", [])
        assert created.headers["location"] == f"http://testserver/api/notes/{note['id']}"
        assert (await client.get(f"/api/notes/{note['id']}")).json() == note

        await client.post("/api/notes", json={"title": "Eggs"})
        listed = (await client.get("/api/notes")).json()["notes"]
        assert [(n["title"], n["body"]) for n in listed] == [("Eggs", ""), ("Milk", "2 litres")]

        patched = await client.patch(f"/api/notes/{note['id']}", json={"body": "3 litres"})
        assert (patched.json()["title"], patched.json()["body"]) == ("Milk", "3 litres")

        deleted = await client.delete(f"/api/notes/{note['id']}")
        assert (deleted.status_code, deleted.content) == (204, b"")
        gone = await client.get(f"/api/notes/{note['id']}")
        assert (gone.status_code, gone.json()) == (404, {"detail": f"No note {note['id']}."})


async def test_pagination(app: MicroASGI) -> None:
    async with AsyncTestClient(app) as client:
        for n in range(5):
            await client.post("/api/notes", json={"title": f"n{n}"})
        page = await client.get("/api/notes", params={"limit": "2", "offset": "1"})
    assert [n["title"] for n in page.json()["notes"]] == ["n3", "n2"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"), ("offset=-1", "offset"),
     ("limit=%D9%A3", "limit")],
)  # fmt: skip
async def test_bad_query_parameters(app: MicroASGI, query: str, field: str) -> None:
    response = await AsyncTestClient(app).get(f"/api/notes?{query}")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize(
    ("data", "partial", "errors"),
    [
        ([], False, {"": "Expected a JSON object, got list."}),
        ({}, False, {"title": "Required."}),
        ({"title": " "}, False, {"title": "Must not be empty."}),
        ({"title": 1}, False, {"title": "Must be a string, got int."}),
        ({"title": "t", "body": None}, False, {"body": "Must be a string, got NoneType."}),
        ({"title": "x" * 201}, False, {"title": "At most 200 characters, got 201."}),
        (
            {"title": "t", "body": "x" * 10_001},
            False,
            {"body": "At most 10000 characters, got 10001."},
        ),
        (
            {"title": "t", "tags": []},
            False,
            {"tags": "Unknown field; a note has 'title' and 'body'."},
        ),
        ({}, True, {"": "Give 'title', 'body' or both."}),
        ({"title": ""}, True, {"title": "Must not be empty."}),
    ],
)
def test_validate_note_errors(data: Any, partial: bool, errors: dict[str, str]) -> None:
    with pytest.raises(notes.NoteError) as raised:
        notes.validate_note(data, partial=partial)
    assert raised.value.errors == errors


@pytest.mark.parametrize(
    ("data", "partial", "fields"),
    [
        ({"title": " a "}, False, {"title": "a"}),
        ({"title": "a", "body": " b "}, False, {"title": "a", "body": " b "}),
        ({"body": ""}, True, {"body": ""}),
    ],
)
def test_validate_note_accepts(data: Any, partial: bool, fields: dict[str, str]) -> None:
    assert notes.validate_note(data, partial=partial) == fields


@pytest.mark.parametrize(
    ("kwargs", "status", "detail"),
    [
        ({"content": b"{", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
        ({"content": b'{"title": "x"}'}, 415, "Content-Type: application/json"),
        ({"data": {"title": "x"}}, 415, "Content-Type: application/json"),
        ({"json": {"title": "x" * (64 * 1024)}}, 413, ""),
        ({"json": {"title": 5}}, 422, "Invalid input."),
    ],
)
async def test_bad_bodies(app: MicroASGI, kwargs: dict[str, Any], status: int, detail: str) -> None:
    response = await AsyncTestClient(app).post("/api/notes", **kwargs)
    assert response.status_code == status
    assert detail in response.json()["detail"]


async def test_patch_validates_and_finds(app: MicroASGI) -> None:
    async with AsyncTestClient(app) as client:
        missing = await client.patch("/api/notes/7", json={"title": "x"})
        await client.post("/api/notes", json={"title": "x"})
        empty = await client.patch("/api/notes/1", json={})
    assert (missing.status_code, missing.json()) == (404, {"detail": "No note 7."})
    assert empty.status_code == 422


async def test_http_errors_are_json(app: MicroASGI) -> None:
    client = AsyncTestClient(app)
    nowhere = await client.get("/nowhere")
    assert (nowhere.status_code, nowhere.json()) == (404, {"detail": "Not Found"})
    refused = await client.put("/api/notes/1", json={})
    assert refused.status_code == 405
    assert set(refused.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE"}
    assert (await client.delete("/api/notes/3")).json() == {"detail": "No note 3."}


# --- attachments -----------------------------------------------------------------------------


async def test_upload_and_download_with_range(app: MicroASGI, db_path: Path) -> None:
    content = bytes(range(256)) * 40
    async with AsyncTestClient(app) as client:
        await client.post("/api/notes", json={"title": "scan"})
        uploaded = await client.post(
            "/api/notes/1/attachments", files={"file": ("scan.png", content, "image/png")}
        )
        assert uploaded.status_code == 201
        info = uploaded.json()
        assert info == {
            "id": 1,
            "filename": "scan.png",
            "content_type": "image/png",
            "size": len(content),
            "url": "http://testserver/api/notes/1/attachments/1",
        }
        assert uploaded.headers["location"] == info["url"]
        whole = await client.get(info["url"])
        part = await client.get(info["url"], headers={"Range": "bytes=100-199"})
        listed = (await client.get("/api/notes/1")).json()["attachments"]
    assert whole.content == content
    assert whole.headers["content-type"] == "image/png"
    assert whole.headers["content-disposition"] == 'attachment; filename="scan.png"'
    assert whole.headers["x-content-type-options"] == "nosniff"
    assert (part.status_code, part.content) == (206, content[100:200])
    assert part.headers["content-range"] == f"bytes 100-199/{len(content)}"
    assert listed == [{k: v for k, v in info.items() if k != "url"}]
    assert (db_path.parent / "notes.sqlite3.files" / "1").read_bytes() == content


@pytest.mark.parametrize(
    ("filename", "content_type", "stored_name", "stored_type"),
    [
        ("../../etc/passwd", "text/plain", "passwd", "text/plain"),
        ("C:\\docs\\report.pdf", "application/pdf; x=1", "report.pdf", "application/pdf"),
        ("evil.html", "text/html", "evil.html", "application/octet-stream"),
        ("\u202egpj.svg", "image/svg+xml", "gpj.svg", "application/octet-stream"),
        ("dir/", "IMAGE/JPEG", "attachment", "image/jpeg"),
        ("x" * 300, "text/plain", "x" * 255, "text/plain"),
    ],
)
async def test_uploaded_names_and_types_are_made_safe(
    app: MicroASGI, filename: str, content_type: str, stored_name: str, stored_type: str
) -> None:
    async with AsyncTestClient(app) as client:
        await client.post("/api/notes", json={"title": "t"})
        files = {"file": (filename, b"data", content_type)}
        info = (await client.post("/api/notes/1/attachments", files=files)).json()
    assert (info["filename"], info["content_type"]) == (stored_name, stored_type)


async def test_upload_errors(app: MicroASGI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notes, "MAX_ATTACHMENT", 1000)
    async with AsyncTestClient(app) as client:
        no_note = await client.post("/api/notes/5/attachments", files={"file": ("a", b"x")})
        await client.post("/api/notes", json={"title": "t"})
        no_file = await client.post(
            "/api/notes/1/attachments", files={"other": ("a", b"x")}, data={}
        )
        text_field = await client.post("/api/notes/1/attachments", data={"file": "text"})
        too_big = await client.post("/api/notes/1/attachments", files={"file": ("a", b"x" * 1001)})
        two = await client.post(
            "/api/notes/1/attachments", files=[("file", ("a", b"x")), ("file", ("b", b"y"))]
        )
        missing = await client.get("/api/notes/1/attachments/9")
    assert (no_note.status_code, no_note.json()["detail"]) == (404, "No note 5.")
    assert no_file.status_code == 422
    assert no_file.json()["errors"] == {"file": "Send the file as the multipart form field 'file'."}
    assert text_field.status_code == 400  # max_fields=0: a text field is refused
    assert too_big.status_code == 413
    assert two.status_code == 400  # max_files=1
    assert (missing.status_code, missing.json()) == (
        404,
        {"detail": "No attachment 9 on this note."},
    )


async def test_deleting_a_note_deletes_its_files(app: MicroASGI, db_path: Path) -> None:
    async with AsyncTestClient(app) as client:
        await client.post("/api/notes", json={"title": "t"})
        await client.post("/api/notes/1/attachments", files={"file": ("a", b"x")})
        stored = db_path.parent / "notes.sqlite3.files" / "1"
        assert stored.is_file()
        await client.delete("/api/notes/1")
        after = await client.get("/api/notes/1/attachments/1")
    assert not stored.exists()
    assert after.status_code == 404


# --- the HTML page and the session -----------------------------------------------------------


async def test_page_escapes_and_links(app: MicroASGI) -> None:
    async with AsyncTestClient(app) as client:
        empty = await client.get("/")
        await client.post("/api/notes", json={"title": "<script>alert(1)</script>"})
        await client.post("/api/notes/1/attachments", files={"file": ("a.txt", b"x")})
        page = await client.get("/")
        css = await client.get("/static/notes.css")
    assert "No notes yet." in empty.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert" not in page.text
    assert 'href="http://testserver/api/notes/1/attachments/1">a.txt</a>' in page.text
    assert 'data-feed="http://testserver/api/feed"' in page.text
    assert css.status_code == 200


async def test_form_saves_and_flashes_once(app: MicroASGI) -> None:
    async with AsyncTestClient(app) as client:
        posted = await client.post("/", data={"title": "From the form", "body": "hi"})
        assert posted.url.path == "/"  # followed the 303
        assert "Saved note 1." in posted.text
        assert "From the form" in posted.text
        assert "Saved note 1." not in (await client.get("/")).text  # flashed once
        bad = await client.post("/", data={"title": " "})
        assert "title: Must not be empty." in bad.text
        assert [n["title"] for n in (await client.get("/api/notes")).json()["notes"]] == [
            "From the form"
        ]


async def test_form_refuses_files(app: MicroASGI) -> None:
    response = await AsyncTestClient(app).post("/", files={"title": ("t", b"x")})
    assert response.status_code == 400


# --- the live feed ---------------------------------------------------------------------------


async def test_feed_streams_changes(app: MicroASGI) -> None:
    async with AsyncTestClient(app) as client:
        async with client.stream("GET", "/api/feed") as stream:
            assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
            lines = stream.aiter_lines()
            assert await _next_event(lines) == {"event": "ready", "data": "", "retry": "3000"}
            await client.post("/api/notes", json={"title": "live"})
            await client.patch("/api/notes/1", json={"body": "b"})
            await client.post("/api/notes/1/attachments", files={"file": ("a", b"x")})
            await client.delete("/api/notes/1")
            events = [await _next_event(lines) for _ in range(4)]
        assert [(e["event"], e["id"], json.loads(e["data"])) for e in events] == [
            ("created", "1", {"id": 1, "title": "live"}),
            ("updated", "2", {"id": 1}),
            ("attached", "3", {"id": 1, "attachment": 1}),
            ("deleted", "4", {"id": 1}),
        ]
        store: notes.Store = app.state.store
        assert store.feed.subscribers == 0  # the client left: unsubscribed


async def test_feed_full_answers_503(app: MicroASGI) -> None:
    store: notes.Store = app.state.store
    store.feed.max_subscribers = 0
    response = await AsyncTestClient(app).get("/api/feed")
    assert (response.status_code, response.headers["retry-after"]) == (503, "10")
    assert response.json() == {"detail": "Too many live clients."}


async def test_feed_drops_slow_subscribers_and_closes() -> None:
    feed = Feed(max_subscribers=2, buffer=1)
    with feed.subscribe() as slow, feed.subscribe() as fast:
        assert not feed.accepting  # full
        with feed.subscribe() as refused:
            assert [e async for e in refused] == []  # closed at once
        feed.publish("a", {})
        assert (await fast.receive()).encode() == b"id: 1\nevent: a\ndata: {}\n\n"
        feed.publish("b", {})  # slow's buffer is full: slow is dropped
        assert feed.subscribers == 1
        assert [e.encode() for e in [e async for e in slow]] == [b"id: 1\nevent: a\ndata: {}\n\n"]
        feed.close()
        assert [e.encode() for e in [e async for e in fast]] == [b"id: 2\nevent: b\ndata: {}\n\n"]
        assert not feed.accepting


# --- lifespan, servers without it, configuration ---------------------------------------------


async def test_lifespan_opens_and_closes(app: MicroASGI, db_path: Path) -> None:
    store: notes.Store = app.state.store
    states = [store.db.is_open]
    async with AsyncTestClient(app) as client:
        states.append(store.db.is_open)
        assert await anyio.Path(db_path).is_file()
        assert client.app_state is not None
        assert client.app_state["store"] is store
        await client.post("/api/notes", json={"title": "t"})
    states.append(store.db.is_open)
    assert states == [False, True, False]  # before startup, while serving, after shutdown
    assert not store.feed.accepting
    with pytest.raises(RuntimeError, match="is closed"):
        await store.db.list_notes()
    with pytest.raises(RuntimeError, match="is closed"):
        await store.db.open()


async def test_without_lifespan_the_database_opens_itself(
    app: MicroASGI, caplog: pytest.LogCaptureFixture
) -> None:
    client = AsyncTestClient(app)  # no "async with": no lifespan events, as under daphne
    created = await client.post("/api/notes", json={"title": "daphne"})
    listed = await client.get("/api/notes")
    assert created.status_code == 201
    assert [n["title"] for n in listed.json()["notes"]] == ["daphne"]
    assert "sent no lifespan events" in caplog.text


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MICROASGI_NOTES_DB", raising=False)
    assert notes.database_path() == "notes.sqlite3"
    monkeypatch.setenv("MICROASGI_NOTES_DB", str(tmp_path / "x.sqlite3"))
    monkeypatch.setenv("MICROASGI_NOTES_SECRET", "from-env")
    built = notes.create_app()
    assert built.state.store.db.path == tmp_path / "x.sqlite3"
    (sessions,) = built.user_middleware
    assert str(sessions.kwargs["secret_key"]) == "from-env"


async def test_sessions_are_signed_with_the_key(db_path: Path) -> None:
    one = notes.create_app(db_path, secret_key="one")
    two = notes.create_app(db_path, secret_key="two")
    async with AsyncTestClient(one) as client:
        await client.post("/", data={"title": "t"}, follow_redirects=False)
        cookie = client.cookies["session"]
    async with AsyncTestClient(two, cookies={"session": cookie}) as other:
        assert "Saved note" not in (await other.get("/")).text  # a foreign cookie: no session


# --- the database on its own -----------------------------------------------------------------


class _FailingFile(io.BytesIO):
    def read(self, size: int | None = -1, /) -> bytes:
        if self.tell() > 0:
            raise OSError("disk on fire")
        return super().read(4)


async def test_failed_attachment_leaves_nothing(db_path: Path) -> None:
    db = Database(db_path)
    note = await db.create_note("t", "")
    with pytest.raises(OSError, match="disk on fire"):
        await db.add_attachment(note.id, "a", "text/plain", _FailingFile(b"12345678"))
    assert list(db.files.iterdir()) == []
    assert (await db.get_note(note.id)) == note  # no attachment row either
    assert await db.add_attachment(99, "a", "text/plain", io.BytesIO(b"x")) is None
    assert await db.update_note(99, {"title": "x"}) is None
    assert not await db.delete_note(99)
    assert repr(db) == f"Database({str(db_path)!r})"
    await db.close()


async def test_pool_is_bounded(db_path: Path) -> None:
    db = Database(db_path)
    await db.open()
    await db.create_note("t", "")

    async def read() -> None:
        await db.list_notes()

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(read)
    assert 1 <= len(db._idle) <= 4
    await db.close()
    assert db._idle == []


# --- the tutorial's snippets -----------------------------------------------------------------

_ROOT = Path(__file__).resolve().parent.parent
_SECTION_SNIPPET = re.compile(r"^--8<--\s+'([^':]+):([a-z][-_0-9a-z]*)'$", re.MULTILINE)


def test_tutorial_sections_exist() -> None:
    # docs/tutorial.md pulls named sections of the app's files ('path:section'); each must exist.
    tutorial = (_ROOT / "docs/tutorial.md").read_text("utf-8")
    refs = _SECTION_SNIPPET.findall(tutorial)
    assert len(refs) >= 10
    for path, section in refs:
        text = (_ROOT / path).read_text("utf-8")
        start, end = f"# --8<-- [start:{section}]\n", f"# --8<-- [end:{section}]\n"
        assert text.count(start) == text.count(end) == 1, f"{path} lacks section {section!r}"
        assert text.index(start) < text.index(end)


async def test_an_attachment_larger_than_the_app_cap_is_taken(app: MicroASGI) -> None:
    # The app caps bodies at 64 KiB; the upload route raises the cap for its file (10 MiB).
    content = bytes(range(256)) * 1024  # 256 KiB
    async with AsyncTestClient(app) as client:
        await client.post("/api/notes", json={"title": "t"})
        uploaded = await client.post(
            "/api/notes/1/attachments", files={"file": ("big.bin", content)}
        )
        again = await client.get(uploaded.json()["url"])
        too_much = await client.post(
            "/api/notes/1/attachments",
            content=b"x" * (11 * 1024 * 1024),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
    assert uploaded.status_code == 201
    assert again.content == content
    assert too_much.status_code == 413
