from __future__ import annotations

import pytest

from microasgi._sansio import headers as _headers
from microasgi._sansio.headers import encode_header, encode_header_name, encode_header_value


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Content-Type", "text/plain", (b"content-type", b"text/plain")),
        (b"X-Token", b"abc", (b"x-token", b"abc")),
        ("x-tab", "a\tb", (b"x-tab", b"a\tb")),
        ("x-latin", "caf\xe9", (b"x-latin", b"caf\xe9")),
        ("x-empty", "", (b"x-empty", b"")),
        ("x-obs-text", b"\xff\x80", (b"x-obs-text", b"\xff\x80")),
    ],
)
def test_valid_headers_are_encoded(
    name: str | bytes, value: str | bytes, expected: tuple[bytes, bytes]
) -> None:
    assert encode_header(name, value) == expected


@pytest.mark.parametrize(
    "name", ["", "x y", "x:y", "x\r\ny", "x\x00", "caf\xe9", "\u2603", b"a\nb", "(x)"]
)
def test_bad_names_are_refused(name: str | bytes) -> None:
    with pytest.raises(ValueError, match="Invalid header name"):
        encode_header_name(name)


@pytest.mark.parametrize(
    "value",
    ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\x00b", b"a\r\nb", "a\x7fb", "\x1b[31m"],
)
def test_injection_is_refused(value: str | bytes) -> None:
    with pytest.raises(ValueError, match="control character") as info:
        encode_header_value(value, "x-name")
    assert "'x-name'" in str(info.value)


def test_non_latin1_text_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="quote"):
        encode_header_value("\u2603", b"x-snow")


def test_unnamed_value_error_still_reads() -> None:
    with pytest.raises(ValueError, match=r"\(unnamed\)"):
        encode_header_value("a\nb")


def test_non_text_value_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="str or bytes, got int"):
        encode_header_value(3, "content-length")


def test_names_are_remembered_up_to_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # Validated once per name while the memory has room; past its bound every name is still
    # validated, so names built from client input can neither grow it nor slip through.
    monkeypatch.setattr(_headers, "_NAMES", {})
    monkeypatch.setattr(_headers, "_NAMES_MAX", 1)
    assert encode_header_name("X-First") == b"x-first"
    assert encode_header_name("X-Second") == b"x-second"
    assert _headers._NAMES == {"X-First": b"x-first"}
    assert encode_header_name("X-First") == b"x-first"
    with pytest.raises(ValueError, match="Invalid header name"):
        encode_header_name("x y")


@pytest.mark.parametrize("value", ["plain", "tab\there", "caf\xe9", "\xa0nbsp"])
def test_values_outside_printable_ascii_take_the_checked_path(value: str) -> None:
    assert encode_header_value(value) == value.encode("latin-1")
