"""Testing the notes app: a fresh database per test, the lifespan run by the client."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from examples.notes.app import create_app
from microasgi.testclient import AsyncTestClient


@asynccontextmanager
async def notes_client() -> AsyncIterator[AsyncTestClient]:
    """A client for a notes app over a throwaway database; startup and shutdown run around it."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Path(tmp) / "notes.sqlite3", secret_key="test-only")
        async with AsyncTestClient(app) as client:
            yield client


async def test_create_then_list() -> None:
    async with notes_client() as client:
        created = await client.post("/api/notes", json={"title": "Milk", "body": "2 litres"})
        listed = await client.get("/api/notes")
    assert created.status_code == 201
    assert created.headers["location"] == "http://testserver/api/notes/1"
    assert [note["title"] for note in listed.json()["notes"]] == ["Milk"]


async def test_invalid_input() -> None:
    async with notes_client() as client:
        malformed = await client.post(
            "/api/notes", content=b"{oops", headers={"Content-Type": "application/json"}
        )
        invalid = await client.post("/api/notes", json={"title": "", "colour": "red"})
    assert malformed.status_code == 400  # not JSON at all
    assert invalid.status_code == 422  # JSON, but not a note
    assert invalid.json()["errors"] == {
        "title": "Must not be empty.",
        "colour": "Unknown field; a note has 'title' and 'body'.",
    }


async def test_attachment_and_range() -> None:
    async with notes_client() as client:
        await client.post("/api/notes", json={"title": "Receipt"})
        upload = await client.post(
            "/api/notes/1/attachments", files={"file": ("receipt.txt", b"0123456789")}
        )
        part = await client.get(upload.json()["url"], headers={"Range": "bytes=0-3"})
    assert (part.status_code, part.content) == (206, b"0123")


async def test_live_feed() -> None:
    async with notes_client() as client, client.stream("GET", "/api/feed") as feed:
        lines = feed.aiter_lines()
        assert await anext(lines) == "event: ready"  # subscribed: no change is missed now
        await client.post("/api/notes", json={"title": "Live"})
        received = [await anext(lines) for _ in range(6)]
    assert received[3:] == ["id: 1", "event: created", 'data: {"id": 1, "title": "Live"}']


async def test_flash_message_in_the_session() -> None:
    async with notes_client() as client:
        page = await client.post("/", data={"title": "From the form"})  # 303, then GET /
        again = await client.get("/")
    assert "Saved note 1." in page.text
    assert "Saved note 1." not in again.text  # shown once
