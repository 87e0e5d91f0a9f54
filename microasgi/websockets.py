"""WebSocket connection states and the disconnect exception.

``WebSocketDisconnect`` is what a closed connection raises, in an endpoint (the client went away) and
in the test client (the app closed the connection). ``WebSocketState`` names the steps of a
connection, from each side's point of view.
"""

from __future__ import annotations

import enum

__all__ = ["WebSocketDisconnect", "WebSocketState"]


class WebSocketState(enum.Enum):
    """The state of one side of a WebSocket connection.

    ``CONNECTING`` until the handshake is answered; ``CONNECTED`` once accepted; ``RESPONSE`` while an
    HTTP denial response (extension ``websocket.http.response``) is being sent instead of an accept;
    ``DISCONNECTED`` once either side has closed.
    """

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2
    RESPONSE = 3


class WebSocketDisconnect(Exception):
    """The WebSocket connection is closed.

    Args:
        code: the close code (``1000`` is a normal closure, ``1006`` an abnormal one, ``1011`` an
            error on the other side); see the ``WS_*`` constants in ``microasgi.status``.
        reason: the text sent with the close frame, if any.
    """

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""
        super().__init__(code, self.reason)

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}" if self.reason else str(self.code)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"
