from __future__ import annotations

import http
import re

import pytest

from microasgi import status

_NAME = re.compile(r"(HTTP|WS)_(\d{3,4})_[A-Z0-9_]+\Z")


@pytest.mark.parametrize("name", status.__all__)
def test_name_carries_its_value(name: str) -> None:
    match = _NAME.match(name)
    assert match is not None, f"{name} does not follow HTTP_<code>_<PHRASE> / WS_<code>_<PHRASE>"
    assert getattr(status, name) == int(match.group(2))


def test_every_standard_http_status_has_a_constant() -> None:
    values = {getattr(status, n) for n in status.__all__ if n.startswith("HTTP_")}
    assert {s.value for s in http.HTTPStatus} <= values


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HTTP_413_CONTENT_TOO_LARGE", 413),
        ("HTTP_413_REQUEST_ENTITY_TOO_LARGE", 413),
        ("HTTP_422_UNPROCESSABLE_CONTENT", 422),
        ("HTTP_431_REQUEST_HEADER_FIELDS_TOO_LARGE", 431),
        ("WS_1007_INVALID_FRAME_PAYLOAD_DATA", 1007),
        ("WS_1009_MESSAGE_TOO_BIG", 1009),
    ],
)
def test_starlette_spellings(name: str, value: int) -> None:
    assert getattr(status, name) == value
