from __future__ import annotations

import http
import importlib
import re
import warnings
from pathlib import Path

import pytest

from microasgi import status
from microasgi.exceptions import MicroASGIDeprecationWarning, StarletteDeprecationWarning

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
        ("HTTP_422_UNPROCESSABLE_CONTENT", 422),
        ("HTTP_431_REQUEST_HEADER_FIELDS_TOO_LARGE", 431),
        ("WS_1007_INVALID_FRAME_PAYLOAD_DATA", 1007),
        ("WS_1009_MESSAGE_TOO_BIG", 1009),
    ],
)
def test_starlette_spellings(name: str, value: int) -> None:
    assert getattr(status, name) == value


DEPRECATED = [
    ("HTTP_413_REQUEST_ENTITY_TOO_LARGE", 413, "HTTP_413_CONTENT_TOO_LARGE"),
    ("HTTP_414_REQUEST_URI_TOO_LONG", 414, "HTTP_414_URI_TOO_LONG"),
    ("HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE", 416, "HTTP_416_RANGE_NOT_SATISFIABLE"),
    ("HTTP_422_UNPROCESSABLE_ENTITY", 422, "HTTP_422_UNPROCESSABLE_CONTENT"),
]


@pytest.mark.parametrize(("name", "value", "instead"), DEPRECATED)
def test_pre_rfc_9110_names_warn_as_starlette(name: str, value: int, instead: str) -> None:
    assert StarletteDeprecationWarning is MicroASGIDeprecationWarning
    with pytest.warns(StarletteDeprecationWarning) as record:
        assert getattr(status, name) == value
    assert len(record) == 1
    # Starlette's exact text, so the warning filters of ported projects keep matching.
    assert str(record[0].message) == f"'{name}' is deprecated. Use '{instead}' instead."
    assert record[0].filename == __file__  # points at the code that read it
    assert getattr(status, instead) == value


@pytest.mark.parametrize(("name", "value", "instead"), DEPRECATED)
def test_pre_rfc_9110_names_are_not_public_but_listed(name: str, value: int, instead: str) -> None:
    assert name not in status.__all__
    assert name not in vars(status)
    assert name in dir(status)
    assert instead in dir(status)
    namespace: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec("from microasgi.status import *", namespace)
    assert name not in namespace
    assert instead in namespace


def test_from_import_of_a_deprecated_name_warns() -> None:
    with pytest.warns(StarletteDeprecationWarning, match="'HTTP_422_UNPROCESSABLE_ENTITY' is dep"):
        from microasgi.status import HTTP_422_UNPROCESSABLE_ENTITY
    assert HTTP_422_UNPROCESSABLE_ENTITY == 422


def test_unknown_name_is_an_attribute_error() -> None:
    name = "HTTP_999_UNKNOWN"
    with pytest.raises(
        AttributeError, match=r"^module 'microasgi\.status' has no attribute 'HTTP_999_UNKNOWN'$"
    ):
        getattr(importlib.import_module("microasgi.status"), name)


def test_microasgi_never_reads_the_deprecated_names() -> None:
    package = Path(status.__file__).parent
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for name, _, _ in DEPRECATED:
            if source.name != "status.py":
                assert name not in text, f"{source} reads the deprecated {name}"
