"""Path parameter converters: ``{name:int}`` in a route path.

A converter turns one matched piece of the path into a Python value (``convert``) and back
(``to_string``, for reverse routing). ``regex`` says what it matches. Converters are resolved when a
route is built, never looked up per request.
"""

from __future__ import annotations

import decimal
import math
import re
import sys
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast

__all__ = [
    "CONVERTOR_TYPES",
    "Convertor",
    "FloatConvertor",
    "IntegerConvertor",
    "PathConvertor",
    "StringConvertor",
    "UUIDConvertor",
    "register_url_convertor",
]

T = TypeVar("T")

# SECURITY: no route parameter ever matches a control character, so "/users/1\n" cannot reach a
# handler as "1\n" (the `$`-before-newline trap of naive regex matching).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _InvalidParameter(ValueError, AssertionError):
    """A value ``to_string`` cannot put in a path: a ``ValueError``, and the ``AssertionError``
    Starlette's converters raise (they ``assert``), so code written for either catches it."""


def _no_control(value: str) -> str:
    # SECURITY: a path no route matches (see _CONTROL) is no path to build either: a link holding
    # CR, LF or NUL would be a broken URL at best and a header or markup injection at worst.
    if not value.isprintable() and _CONTROL.search(value):
        raise ValueError(
            f"A path parameter cannot contain a control character, got {value!r}: no route "
            "would match the path. Remove it."
        )
    return value


class Convertor(Generic[T]):
    """Base class of converters. Subclass it and set ``regex``, ``convert`` and ``to_string``.

    ``regex`` is matched against one path segment (never across ``/``) unless the converter
    subclasses ``PathConvertor``, which matches the rest of the path, slashes included.
    """

    regex: ClassVar[str] = ""

    def __init__(self) -> None:
        self._pattern = re.compile(self.regex)

    def convert(self, value: str) -> T:
        """Turn the matched text into the parameter's value."""
        raise TypeError(f"{type(self).__name__} must define convert(value).")

    def to_string(self, value: T) -> str:
        """Turn a value back into path text, for ``url_path_for``."""
        raise TypeError(f"{type(self).__name__} must define to_string(value).")

    def matches(self, text: str) -> bool:
        """Tell whether ``text`` (one segment, or the rest of the path) is a value of this kind."""
        # PERF: printable text (the common case) cannot hold a control character.
        if not text.isprintable() and _CONTROL.search(text):
            return False
        return self._pattern.fullmatch(text) is not None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class StringConvertor(Convertor[str]):
    """``{name}`` or ``{name:str}``: one non-empty path segment."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        value = str(value)
        if "/" in value:
            raise _InvalidParameter(
                f"A str path parameter cannot contain '/', got {value!r}. Use :path."
            )
        if not value:
            raise _InvalidParameter("A str path parameter cannot be empty.")
        return _no_control(value)

    def matches(self, text: str) -> bool:
        # PERF: a segment never holds "/", so only emptiness and control characters are left.
        return bool(text) and (text.isprintable() or _CONTROL.search(text) is None)


class PathConvertor(Convertor[str]):
    """``{name:path}``: the rest of the path, slashes included (may be empty)."""

    regex = ".*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return _no_control(str(value))

    def matches(self, text: str) -> bool:
        return text.isprintable() or _CONTROL.search(text) is None


class IntegerConvertor(Convertor[int]):
    """``{name:int}``: ASCII digits, converted to a non-negative ``int``."""

    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int | str) -> str:
        # Text of digits is accepted too: url_for("user", id="3") is common in templates.
        if isinstance(value, str) and self.matches(value):
            return str(int(value))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _InvalidParameter(
                f"An int path parameter must be a non-negative int (or its digits), got {value!r}."
            )
        return str(value)

    def matches(self, text: str) -> bool:
        # PERF: str.isdigit alone would accept "²" and other non-ASCII digits.
        # SECURITY: int() refuses more digits than sys.get_int_max_str_digits() (4300 by default,
        # CVE-2020-10735) with a ValueError, which would escape the router as a 500; such a
        # segment is no int and the path does not match (a 404). Leading zeros count too.
        if not (text.isascii() and text.isdigit()):
            return False
        limit = sys.get_int_max_str_digits()
        return not limit or len(text) <= limit


class FloatConvertor(Convertor[float]):
    """``{name:float}``: ``123`` or ``1.5`` (no sign, no exponent), converted to ``float``."""

    regex = r"[0-9]+(\.[0-9]+)?"

    def convert(self, value: str) -> float:
        return float(value)

    def to_string(self, value: float | str) -> str:
        if isinstance(value, str) and self.matches(value):
            value = float(value)  # the text form, as in url_for("price", v="1.5")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"A float path parameter must be a number, got {value!r}.")
        if not math.isfinite(value) or value < 0:
            raise _InvalidParameter(
                f"A float path parameter must be finite and >= 0, got {value!r}."
            )
        # The shortest text that reads back as the same float, without an exponent: 0.1 gives
        # "0.1" (not "0.10000000000000000555"), 1e-05 gives "0.00001". abs() turns -0.0 (which
        # passes the test above) into 0.0: "-0" would be a path the converter does not match.
        text = format(decimal.Decimal(repr(abs(float(value)))), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text


class UUIDConvertor(Convertor[uuid.UUID]):
    """``{name:uuid}``: a UUID, converted to ``uuid.UUID``.

    The 8-4-4-4-12 hex form and the 32 hex digits without hyphens both match, in either case
    (as in Starlette 1.10); ``url_path_for`` writes the canonical hyphenated form.
    """

    regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def convert(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_string(self, value: uuid.UUID | str) -> str:
        # Accept the text form too: url_for("item", id="...") is common in templates.
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


CONVERTOR_TYPES: dict[str, Convertor[Any]] = {
    "str": StringConvertor(),
    "path": PathConvertor(),
    "int": IntegerConvertor(),
    "float": FloatConvertor(),
    "uuid": UUIDConvertor(),
}


def register_url_convertor(key: str, convertor: Convertor[Any]) -> None:
    """Make ``{name:key}`` available to every route built afterwards.

    Routes resolve their converters when they are built, so register before declaring routes. To
    keep a converter to one router instead, pass ``convertors={key: convertor}`` to that router.
    """
    if not isinstance(cast(object, convertor), Convertor):
        raise TypeError(
            f"register_url_convertor needs a Convertor instance, got {convertor!r}. "
            "Subclass microasgi.convertors.Convertor and pass an instance."
        )
    if not key.isidentifier():
        raise ValueError(f"A converter name must be an identifier, got {key!r}.")
    CONVERTOR_TYPES[key] = convertor


class _UnknownConvertorError(ValueError):
    """A route path names a converter nobody registered (a router may still supply it)."""


def _resolve_convertor(
    name: str, path: str, extra: Mapping[str, Convertor[Any]] | None = None
) -> Convertor[Any]:
    """Find the converter ``name`` for the route ``path`` (private: routes call it when built)."""
    if extra is not None and name in extra:
        return extra[name]
    try:
        return CONVERTOR_TYPES[name]
    except KeyError:
        known = sorted({*CONVERTOR_TYPES, *(extra or {})})
        raise _UnknownConvertorError(
            f"Unknown path converter {name!r} in route path {path!r}. Known converters: "
            f"{', '.join(known)}. Register one with register_url_convertor(), or give it to "
            f"the router: Router(convertors={{{name!r}: ...}})."
        ) from None
