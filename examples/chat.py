"""A chat over websockets: every message goes to every connected client.

Open ``/`` in two browser tabs (``uvicorn examples.chat:app``), pick two names, and talk. The
websocket at ``/ws?name=...`` sends JSON events: ``{"type": "join" | "leave", "name": ...,
"members": [...]}`` and ``{"type": "message", "name": ..., "text": ...}``.

Each client has a bounded anyio memory stream in the room; a broadcast puts the event in every
stream without waiting, and a task per client forwards its stream to its socket. So one slow
client never holds the others up: when its stream is full it is disconnected (1013, try again
later). The room lives in one process; several workers would need a shared broker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import HTMLResponse, Response
from microasgi.routing import Route, WebSocketRoute
from microasgi.websockets import WebSocket, WebSocketDisconnect

__all__ = ["MAX_NAME", "MAX_TEXT", "Room", "app", "create_app"]

MAX_NAME = 32  # characters
MAX_TEXT = 2000  # characters in one chat message (the route also caps frames at 8 KiB)


class Room:
    """The connected clients, by name, each with the stream of events waiting for it.

    Args:
        max_members: the most clients at once; more are refused (1013).
        buffer: the events held for a client that has not taken them yet.
    """

    def __init__(self, max_members: int = 100, buffer: int = 64) -> None:
        self.max_members = max_members
        self.buffer = buffer
        self._members: dict[str, MemoryObjectSendStream[dict[str, Any]]] = {}
        self._closed = False

    @property
    def members(self) -> list[str]:
        """The names of the connected clients, in the order they joined."""
        return list(self._members)

    @property
    def is_closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def refusal(self, name: str) -> tuple[int, str] | None:
        """Why ``name`` cannot join now, as a close code and reason; ``None`` if it can."""
        if not 0 < len(name) <= MAX_NAME or not name.isprintable() or name != name.strip():
            return 1008, f"Choose a name of 1 to {MAX_NAME} printable characters."
        if name in self._members:
            return 1008, f"The name {name!r} is taken."
        if self._closed or len(self._members) >= self.max_members:
            return 1013, "The room is full or closing; try again later."
        return None

    @contextmanager
    def join(self, name: str) -> Iterator[MemoryObjectReceiveStream[dict[str, Any]]]:
        """Be a member for the duration of the block; announces the join and the leave.

        Raises:
            ValueError: ``refusal(name)`` is not ``None``.
        """
        refused = self.refusal(name)
        if refused is not None:
            raise ValueError(refused[1])
        send, receive = anyio.create_memory_object_stream[dict[str, Any]](self.buffer)
        self._members[name] = send
        try:
            self.broadcast({"type": "join", "name": name, "members": self.members})
            with receive:
                yield receive
        finally:
            if self._members.get(name) is send:
                del self._members[name]
            send.close()
            self.broadcast({"type": "leave", "name": name, "members": self.members})

    def broadcast(self, event: dict[str, Any]) -> None:
        """Queue ``event`` for every member, without waiting; drop members that fell behind."""
        for name, send in list(self._members.items()):
            try:
                send.send_nowait(event)
            except anyio.WouldBlock:
                # SECURITY: a client that does not read cannot make the server queue messages
                # for it without bound; its stream ends and its socket is closed.
                del self._members[name]
                send.close()

    def close(self) -> None:
        """End every member's stream (their sockets close with 1001) and refuse newcomers."""
        self._closed = True
        for send in self._members.values():
            send.close()
        self._members.clear()


async def chat(websocket: WebSocket) -> None:
    """The websocket at ``/ws?name=...``: join the room, relay messages, leave on disconnect."""
    room: Room = websocket.app.state.room
    name = websocket.query_params.get("name", "")
    refused = room.refusal(name)
    if refused is not None:
        await websocket.close(*refused)  # before accept: the handshake is denied (403)
        return
    await websocket.accept()
    ending: list[tuple[int, str]] = []  # why we close, when the client did not
    with room.join(name) as inbox:
        async with anyio.create_task_group() as tg:

            async def forward() -> None:
                """Send the room's events to the client until either side ends."""
                try:
                    async for event in inbox:
                        await websocket.send_json(event)
                except WebSocketDisconnect:
                    pass  # the client left while we sent; the reading loop ends too
                else:  # the room ended the stream: it is closing, or we fell behind
                    ending.append(
                        (1001, "Server closing.") if room.is_closed else (1013, "Too slow.")
                    )
                tg.cancel_scope.cancel()

            tg.start_soon(forward)
            async for text in websocket.iter_text():  # ends when the client disconnects
                if len(text) > MAX_TEXT:
                    ending.append((1009, f"At most {MAX_TEXT} characters a message."))
                    break
                if text.strip():
                    room.broadcast({"type": "message", "name": name, "text": text})
            tg.cancel_scope.cancel()
    # Closed after the task group, so nothing is sent on the socket once it is closing.
    if ending:
        await websocket.close(*ending[0])


async def page(request: Request) -> Response:
    """``GET /``: the chat page."""
    return HTMLResponse(PAGE)


def create_app(max_members: int = 100) -> MicroASGI:
    """Build the chat app with its own room."""
    room = Room(max_members)

    @asynccontextmanager
    async def lifespan(app: MicroASGI) -> AsyncIterator[None]:
        yield
        room.close()  # shutdown: every socket closes with 1001, so the server can stop

    chat_app = MicroASGI(
        routes=[Route("/", page), WebSocketRoute("/ws", chat, max_message_size=8 * 1024)],
        lifespan=lifespan,
    )
    chat_app.state.room = room
    return chat_app


# The page builds every message with textContent, never innerHTML: what others type is text.
PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Chat</title></head>
<body>
<ul id="log"></ul>
<form id="say"><input id="text" autocomplete="off" maxlength="2000"><button>Send</button></form>
<script>
const log = document.getElementById("log");
const name = prompt("Your name?") || "guest";
const scheme = location.protocol === "https:" ? "wss" : "ws";
const ws = new WebSocket(`${scheme}://${location.host}/ws?name=${encodeURIComponent(name)}`);
ws.onmessage = (event) => {
  const data = JSON.parse(event.data);
  const line = document.createElement("li");
  line.textContent = data.type === "message" ? `${data.name}: ${data.text}` : `${data.name} ${data.type}s`;
  log.append(line);
};
ws.onclose = (event) => {
  const line = document.createElement("li");
  line.textContent = `closed: ${event.reason}`;
  log.append(line);
};
document.getElementById("say").onsubmit = (event) => {
  event.preventDefault();
  const text = document.getElementById("text");
  ws.send(text.value);
  text.value = "";
};
</script>
</body>
</html>
"""

app = create_app()
