"""The data structures of requests and responses: URLs, headers, query strings, forms, state.

Names and behaviour follow Starlette's ``starlette.datastructures``, so a port changes only its
imports. Where Starlette has known flaws these are stricter or safer, and say so in their
docstrings: header writes are validated, a ``URL`` keeps ``%2F`` encoded and ignores a malformed
``Host`` header, query strings never split on ``;``.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, overload

from microasgi._headermap import Headers, MutableHeaders
from microasgi._multidict import ImmutableMultiDict, MultiDict, QueryParams
from microasgi._upload import FormData, UploadFile
from microasgi._url import URL, URLPath

__all__ = [
    "Address",
    "CommaSeparatedStrings",
    "FormData",
    "Headers",
    "ImmutableMultiDict",
    "MultiDict",
    "MutableHeaders",
    "QueryParams",
    "Secret",
    "State",
    "URL",
    "URLPath",
    "UploadFile",
]


class Address(NamedTuple):
    """A network address, such as ``request.client``: ``host`` and ``port``."""

    host: str
    port: int


class State:
    """Attribute access over a dict: ``state.db = engine``, ``state.db``, ``del state.db``.

    The dict is ``state._state``; pass one in (``State(scope["state"])``) to read and write it.

    Raises:
        AttributeError: on reading or deleting an attribute that was never set; the message lists
            the attributes that are set.
    """

    _state: dict[str, Any]

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        super().__setattr__("_state", {} if state is None else state)

    def __setattr__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __getattr__(self, key: str) -> Any:
        if key == "_state":
            # Only reached before __init__ ran (e.g. while unpickling): avoid infinite recursion.
            raise AttributeError(key)
        try:
            return self._state[key]
        except KeyError:
            raise self._missing(key) from None

    def __delattr__(self, key: str) -> None:
        try:
            del self._state[key]
        except KeyError:
            raise self._missing(key) from None

    def _missing(self, key: str) -> AttributeError:
        known = list(self._state)
        message = f"{type(self).__name__!r} object has no attribute {key!r}."
        names = [name for name in known if isinstance(name, str)]
        close = difflib.get_close_matches(key, names, n=1)
        if close:
            message += f" Did you mean {close[0]!r}?"
        message += f" Set attributes: {known!r}." if known else " No attributes are set."
        return AttributeError(message)

    def __repr__(self) -> str:
        # The values may be secrets (connection strings, keys): show only the names.
        return f"<{type(self).__name__} attributes={list(self._state)!r}>"


class Secret:
    """A string that does not show its value in ``repr`` (tracebacks, logs); ``str()`` reveals it.

    ``bool(secret)`` is ``bool(value)``.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}('**********')"

    def __str__(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)


class CommaSeparatedStrings(Sequence[str]):
    """A sequence of strings, from a list or from a comma-separated string.

    ``CommaSeparatedStrings("a, 'b, c', d")`` is ``["a", "b, c", "d"]``: items are stripped, and
    quotes (shell-like, as Starlette's) keep commas inside an item. Unlike Starlette, ``#`` is
    ordinary text rather than the start of a comment, and empty items are dropped.

    Raises:
        ValueError: if a quote is not closed.
    """

    __slots__ = ("_items",)

    def __init__(self, value: str | Sequence[str]) -> None:
        if isinstance(value, str):
            splitter = shlex.shlex(value, posix=True)
            splitter.whitespace = ","
            splitter.whitespace_split = True
            splitter.commenters = ""
            try:
                items = [item.strip() for item in splitter]
            except ValueError as exc:
                raise ValueError(
                    f"Cannot split {value!r} on commas: {exc}. Close the quote, or escape it "
                    "with a backslash."
                ) from None
            self._items = [item for item in items if item]
        else:
            self._items = list(value)

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._items[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"

    def __str__(self) -> str:
        return ", ".join(repr(item) for item in self._items)
