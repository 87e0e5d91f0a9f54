"""The chat example (examples/chat.py): broadcast to every client, limits, clean departures."""

from __future__ import annotations

from typing import Any

import pytest

from examples import chat
from microasgi.testclient import AsyncTestClient
from microasgi.websockets import WebSocketDisconnect


async def test_page() -> None:
    response = await AsyncTestClient(chat.create_app()).get("/")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "new WebSocket(" in response.text
    assert "innerHTML" not in response.text


async def test_two_clients_talk() -> None:
    app = chat.create_app()
    async with AsyncTestClient(app) as client:
        async with client.websocket_connect("/ws?name=ada") as ada:
            assert await ada.receive_json() == {"type": "join", "name": "ada", "members": ["ada"]}
            async with client.websocket_connect("/ws?name=bob") as bob:
                both = {"type": "join", "name": "bob", "members": ["ada", "bob"]}
                assert await ada.receive_json() == both
                assert await bob.receive_json() == both
                await ada.send_text("hello <b>bob</b>")
                said = {"type": "message", "name": "ada", "text": "hello <b>bob</b>"}
                assert await ada.receive_json() == said
                assert await bob.receive_json() == said
                await bob.send_text("   ")  # blank: not broadcast
                await bob.send_text("hi")
                assert await ada.receive_json() == {"type": "message", "name": "bob", "text": "hi"}
            # bob left: ada hears it, and the room forgets him.
            assert await ada.receive_json() == {"type": "leave", "name": "bob", "members": ["ada"]}
            assert app.state.room.members == ["ada"]
        assert app.state.room.members == []


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "Choose a name of 1 to 32 printable characters."),
        ("?name=%20ada", "Choose a name of 1 to 32 printable characters."),
        ("?name=a%0Ab", "Choose a name of 1 to 32 printable characters."),
        ("?name=" + "x" * 33, "Choose a name of 1 to 32 printable characters."),
        ("?name=ada", "The name 'ada' is taken."),
    ],
)
async def test_bad_or_taken_names_are_denied(query: str, reason: str) -> None:
    app = chat.create_app()
    client = AsyncTestClient(app)
    async with client.websocket_connect("/ws?name=ada") as ada:
        await ada.receive_json()
        # Closed before accept: a server answers the handshake with 403; the client sees the close.
        with pytest.raises(WebSocketDisconnect) as denied:
            async with client.websocket_connect(f"/ws{query}"):
                pass  # pragma: no cover
        assert (denied.value.code, denied.value.reason) == (1008, reason)


async def test_full_room_is_denied() -> None:
    app = chat.create_app(max_members=1)
    client = AsyncTestClient(app)
    async with client.websocket_connect("/ws?name=ada") as ada:
        await ada.receive_json()
        with pytest.raises(WebSocketDisconnect) as denied:
            async with client.websocket_connect("/ws?name=bob"):
                pass  # pragma: no cover
        assert (denied.value.code, denied.value.reason) == (
            1013,
            "The room is full or closing; try again later.",
        )


@pytest.mark.parametrize(
    ("send", "code"),
    [
        (("text", "x" * (chat.MAX_TEXT + 1)), 1009),  # too many characters
        (("text", "é" * 4097), 1009),  # over the route's 8 KiB frame cap
        (("bytes", b"binary"), 1003),  # the chat speaks text
    ],
)
async def test_limits_close_the_socket(send: tuple[str, Any], code: int) -> None:
    app = chat.create_app()
    async with AsyncTestClient(app).websocket_connect("/ws?name=ada") as ada:
        await ada.receive_json()
        kind, payload = send
        await (ada.send_text(payload) if kind == "text" else ada.send_bytes(payload))
        with pytest.raises(WebSocketDisconnect) as closed:
            await ada.receive_json()
    assert closed.value.code == code
    assert app.state.room.members == []


async def test_closing_the_room_closes_sockets() -> None:
    app = chat.create_app()
    async with AsyncTestClient(app) as client, client.websocket_connect("/ws?name=ada") as ada:
        await ada.receive_json()
        app.state.room.close()
        with pytest.raises(WebSocketDisconnect) as closed:
            await ada.receive_json()
        assert (closed.value.code, closed.value.reason) == (1001, "Server closing.")
        assert app.state.room.is_closed


async def test_slow_members_are_dropped() -> None:
    room = chat.Room(buffer=2)
    with room.join("slow") as slow, room.join("fast") as fast:
        # slow holds: its join, fast's join (full). The next broadcast drops it.
        room.broadcast({"type": "message", "name": "fast", "text": "1"})
        assert room.members == ["fast"]
        assert [e["name"] for e in [e async for e in slow]] == ["slow", "fast"]
        assert (await fast.receive())["type"] == "join"
    with pytest.raises(ValueError, match="taken"), room.join("x"), room.join("x"):
        pass  # pragma: no cover


async def test_closing_the_socket_during_a_send_is_quiet() -> None:
    # The client leaves while the server forwards a broadcast: the endpoint ends cleanly.
    app = chat.create_app()
    client = AsyncTestClient(app)
    async with client.websocket_connect("/ws?name=ada") as ada:
        await ada.receive_json()
        async with client.websocket_connect("/ws?name=bob") as bob:
            await bob.receive_json()
            await ada.close()
            await bob.send_text("anyone?")
            assert (await bob.receive_json())["type"] in {"leave", "message"}
    assert app.state.room.members == []
