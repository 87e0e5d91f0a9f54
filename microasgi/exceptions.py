"""Exceptions that turn into an HTTP answer or a WebSocket close."""

from __future__ import annotations

import http
from collections.abc import Mapping

__all__ = [
    "HTTPException",
    "MicroASGIDeprecationWarning",
    "StarletteDeprecationWarning",
    "WebSocketException",
]


class HTTPException(Exception):
    """Raise to answer the request with ``status_code``.

    Args:
        status_code: the HTTP status to answer with (100 to 599).
        detail: the text of the answer; defaults to the standard reason phrase of the status.
        headers: extra response headers, for example ``{"WWW-Authenticate": "Bearer"}`` for a 401.

    Raises:
        ValueError: if ``status_code`` is not an HTTP status code.
    """

    def __init__(
        self,
        status_code: int,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(status_code, int) or not 100 <= status_code <= 599:
            raise ValueError(
                "HTTPException status_code must be an int between 100 and 599, "
                f"got {status_code!r}."
            )
        if detail is None:
            try:
                detail = http.HTTPStatus(status_code).phrase
            except ValueError:
                detail = ""
        self.status_code = status_code
        self.detail = detail
        self.headers = headers
        super().__init__(status_code, detail)

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class WebSocketException(Exception):
    """Raise inside a websocket endpoint to close the connection with ``code`` and ``reason``.

    Args:
        code: a WebSocket close code (1000 to 4999), such as ``status.WS_1008_POLICY_VIOLATION``.
        reason: a short text sent with the close frame (at most 123 bytes of UTF-8 on the wire).

    Raises:
        ValueError: if ``code`` is not a WebSocket close code.
    """

    def __init__(self, code: int, reason: str | None = None) -> None:
        if not isinstance(code, int) or not 1000 <= code <= 4999:
            raise ValueError(
                f"WebSocketException code must be an int from 1000 to 4999, got {code!r}."
            )
        self.code = code
        self.reason = reason or ""
        super().__init__(code, self.reason)

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class MicroASGIDeprecationWarning(UserWarning):
    """A microasgi API is deprecated: the message names what to use instead.

    A ``UserWarning``, not a ``DeprecationWarning``, so it is shown by default (as Starlette's
    ``StarletteDeprecationWarning``). Every deprecation goes through ``_deprecated``, in one form:
    "`X` is deprecated since microasgi 0.N; use `Y` instead.", except a name Starlette deprecated
    too, which warns with Starlette's text (so the warning filters of ported projects match).
    """


StarletteDeprecationWarning = MicroASGIDeprecationWarning
"""Starlette's name for the warning class, so a ported ``pytest.warns(...)`` still matches."""


def _deprecated(
    name: str, since: str, instead: str, *, starlette: str | None = None, stacklevel: int = 3
) -> None:
    """Warn that ``name`` is deprecated, in the one form every deprecation uses.

    ``starlette`` is Starlette's own text for a deprecation it shares, used word for word in place
    of that form (it must name the replacement too), so filters written for Starlette match.
    """
    import warnings

    message = (
        starlette or f"`{name}` is deprecated since microasgi {since}; use `{instead}` instead."
    )
    warnings.warn(message, MicroASGIDeprecationWarning, stacklevel=stacklevel)
