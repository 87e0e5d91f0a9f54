from __future__ import annotations

import math
import uuid
from typing import Any

import pytest

from microasgi.convertors import (
    CONVERTOR_TYPES,
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    StringConvertor,
    UUIDConvertor,
    _resolve_convertor,
    register_url_convertor,
)

UID = uuid.UUID("8f0c37a1-0000-4000-8000-000000000001")


@pytest.mark.parametrize(
    ("convertor", "text", "matches"),
    [
        (StringConvertor(), "bob", True),
        (StringConvertor(), "", False),
        (StringConvertor(), "b\nb", False),
        (StringConvertor(), "caf\u00e9", True),
        (StringConvertor(), "a\u00a0b", True),  # not printable, yet no control character
        (StringConvertor(), "a\u00a0\x7f", False),
        (PathConvertor(), "a/b/c", True),
        (PathConvertor(), "", True),
        (PathConvertor(), "a/\x00", False),
        (PathConvertor(), "a\u2028b", True),
        (IntegerConvertor(), "42", True),
        (IntegerConvertor(), "\u00b2", False),
        (IntegerConvertor(), "-1", False),
        (FloatConvertor(), "1.5", True),
        (FloatConvertor(), "1e5", False),
        (FloatConvertor(), "1.5\n", False),
        (UUIDConvertor(), str(UID), True),
        (UUIDConvertor(), str(UID).upper(), True),
        # As Starlette 1.10: the 32 hex digits without hyphens, in either case.
        (UUIDConvertor(), UID.hex, True),
        (UUIDConvertor(), UID.hex.upper(), True),
        (UUIDConvertor(), UID.hex[:-1], False),
        (UUIDConvertor(), UID.hex + "0", False),
        (UUIDConvertor(), "not-a-uuid", False),
    ],
)
def test_matches(convertor: Convertor[Any], text: str, matches: bool) -> None:
    assert convertor.matches(text) is matches


@pytest.mark.parametrize(
    ("convertor", "text", "value", "back"),
    [
        (StringConvertor(), "bob", "bob", "bob"),
        (PathConvertor(), "a/b", "a/b", "a/b"),
        (IntegerConvertor(), "007", 7, "7"),
        (FloatConvertor(), "1.50", 1.5, "1.5"),
        (FloatConvertor(), "3", 3.0, "3"),
        (UUIDConvertor(), str(UID), UID, str(UID)),
        (UUIDConvertor(), UID.hex.upper(), UID, str(UID)),
    ],
)
def test_convert_round_trip(convertor: Convertor[Any], text: str, value: object, back: str) -> None:
    assert convertor.convert(text) == value
    assert convertor.to_string(value) == back


def test_to_string_accepts_text_of_the_right_kind() -> None:
    assert UUIDConvertor().to_string(str(UID).upper()) == str(UID)
    assert IntegerConvertor().to_string("007") == "7"
    assert FloatConvertor().to_string("1.50") == "1.5"


@pytest.mark.parametrize(
    ("value", "text"), [(0.1, "0.1"), (1e-05, "0.00001"), (1e16, "10000000000000000"), (2, "2")]
)
def test_float_to_string_is_the_shortest_exact_text(value: float, text: str) -> None:
    assert FloatConvertor().to_string(value) == text
    assert float(text) == value


@pytest.mark.parametrize(
    ("convertor", "value", "message"),
    [
        (StringConvertor(), "a/b", "cannot contain '/'"),
        (StringConvertor(), "", "cannot be empty"),
        (StringConvertor(), "a\nb", "cannot contain a control character"),
        (PathConvertor(), "a/\x00", "cannot contain a control character"),
        (IntegerConvertor(), -1, "non-negative int"),
        (IntegerConvertor(), True, "non-negative int"),
        (IntegerConvertor(), "-3", "non-negative int"),
        (FloatConvertor(), math.inf, "finite and >= 0"),
        (FloatConvertor(), -1.0, "finite and >= 0"),
        (FloatConvertor(), "1e3", "must be a number"),
        (FloatConvertor(), False, "must be a number"),
    ],
)
def test_to_string_refuses(convertor: Convertor[Any], value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        convertor.to_string(value)


@pytest.mark.parametrize(
    ("convertor", "value"),
    [
        (StringConvertor(), "a/b"),
        (StringConvertor(), ""),
        (IntegerConvertor(), -1),
        (FloatConvertor(), math.nan),
        (FloatConvertor(), math.inf),
        (FloatConvertor(), -1.0),
    ],
)
def test_to_string_refusals_are_starlettes_assertion_errors_too(
    convertor: Convertor[Any], value: Any
) -> None:
    # Starlette asserts these; code (and tests) catching AssertionError keep working.
    with pytest.raises(AssertionError) as caught:
        convertor.to_string(value)
    assert isinstance(caught.value, ValueError)


def test_base_class_says_what_to_define() -> None:
    class Bare(Convertor[str]):
        regex = "x"

    bare = Bare()
    assert repr(bare) == "Bare()"
    assert bare.matches("x")
    assert not bare.matches("\n")
    with pytest.raises(TypeError, match="must define convert"):
        bare.convert("x")
    with pytest.raises(TypeError, match="must define to_string"):
        bare.to_string("x")


def test_register_url_convertor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("microasgi.convertors.CONVERTOR_TYPES", dict(CONVERTOR_TYPES))

    class Hex(Convertor[int]):
        regex = "[0-9a-f]+"

    hex_convertor = Hex()
    register_url_convertor("hex", hex_convertor)
    assert _resolve_convertor("hex", "/x/{v:hex}") is hex_convertor
    with pytest.raises(TypeError, match="Convertor instance"):
        register_url_convertor("bad", Hex)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be an identifier"):
        register_url_convertor("no pe", hex_convertor)


def test_resolve_prefers_local_and_lists_known() -> None:
    local = StringConvertor()
    assert _resolve_convertor("str", "/", {"str": local}) is local
    with pytest.raises(ValueError, match=r"Known converters: .*float, int.*shout") as info:
        _resolve_convertor("nope", "/{x:nope}", {"shout": local})
    assert "register_url_convertor" in str(info.value)
