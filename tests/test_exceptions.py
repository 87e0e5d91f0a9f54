from __future__ import annotations

import pytest

from microasgi.exceptions import HTTPException, WebSocketException


@pytest.mark.parametrize(
    ("status_code", "detail", "expected"),
    [
        (404, None, "Not Found"),
        (400, "Invalid JSON", "Invalid JSON"),
        (599, None, ""),  # a valid code without a standard phrase
        (418, "", ""),
    ],
)
def test_http_exception_detail(status_code: int, detail: str | None, expected: str) -> None:
    exc = HTTPException(status_code, detail)
    assert exc.status_code == status_code
    assert exc.detail == expected
    assert exc.headers is None
    assert str(exc) == f"{status_code}: {expected}"
    assert repr(exc) == f"HTTPException(status_code={status_code}, detail={expected!r})"


def test_http_exception_headers() -> None:
    exc = HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
    assert exc.headers == {"WWW-Authenticate": "Bearer"}


@pytest.mark.parametrize("bad", [99, 600, "404", 404.0, None])
def test_http_exception_refuses_non_status(bad: object) -> None:
    with pytest.raises(ValueError, match="between 100 and 599"):
        HTTPException(bad)  # type: ignore[arg-type]


def test_websocket_exception() -> None:
    exc = WebSocketException(1008, "policy")
    assert (exc.code, exc.reason) == (1008, "policy")
    assert str(exc) == "1008: policy"
    assert repr(exc) == "WebSocketException(code=1008, reason='policy')"
    assert WebSocketException(1000).reason == ""


@pytest.mark.parametrize("bad", [999, 5000, "1000", None])
def test_websocket_exception_refuses_bad_code(bad: object) -> None:
    with pytest.raises(ValueError, match="from 1000 to 4999"):
        WebSocketException(bad)  # type: ignore[arg-type]
