"""The data structures of requests and responses: URLs, headers, query strings, forms, state.

Names and behaviour follow Starlette's ``starlette.datastructures``, so a port changes only its
imports. Where Starlette has known flaws these are stricter or safer, and say so in their
docstrings: header writes are validated, a ``URL`` keeps ``%2F`` encoded and ignores a malformed
``Host`` header, query strings never split on ``;``.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import (
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    Sequence,
    ValuesView,
)
from typing import Any, NamedTuple, overload

from microasgi._asgi.upload import FormData, UploadFile
from microasgi._sansio.headermap import Headers, MutableHeaders
from microasgi._sansio.multidict import ImmutableMultiDict, MultiDict, QueryParams
from microasgi._sansio.url import URL, URLPath

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


# The public home of the names defined in the protocol and connection layers is this module:
# docs, reprs and pickles name it.
for _public in (
    FormData,
    Headers,
    ImmutableMultiDict,
    MultiDict,
    MutableHeaders,
    QueryParams,
    URL,
    URLPath,
    UploadFile,
):
    _public.__module__ = __name__
del _public


class Address(NamedTuple):
    """A network address, such as ``request.client``: ``host`` and ``port``."""

    host: str
    port: int


class State(MutableMapping[str, Any]):
    """A dict you can use by attribute or by key: ``state.db = engine``, ``state["db"]``.

    ``request.state`` and ``app.state`` are ``State`` objects. Over the dict ``state._state``
    (pass one in to share it: ``State(scope["state"])``) it offers both:

    - attributes, as Starlette's ``State``: ``state.db``, ``state.db = x``, ``del state.db``;
    - the ``MutableMapping`` interface, for typed state (``Request[MyState]`` with a
      ``TypedDict``, as in Starlette 1.x): ``state["db"]``, ``state["db"] = x``,
      ``del state["db"]``, ``"db" in state``, ``len``, iteration, ``get``, ``keys``, ``items``,
      ``values``, ``pop``, ``setdefault``, ``update``, ``clear``, ``copy()`` (a ``dict``), and
      ``|`` / ``|=`` with a mapping.

    A stored name wins over a method of the same name when read as an attribute (``state.items``
    is what you stored as ``items``, as in Starlette; ``state["items"]`` reads it too). As in
    Starlette, states compare and hash by identity.

    Raises:
        AttributeError: on reading or deleting an attribute that was never set; the message names
            a close one and lists the attributes that are set.
        KeyError: on reading or deleting a key that was never set.
    """

    _state: dict[str, Any]

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        super().__setattr__("_state", {} if state is None else state)

    def __getattribute__(self, key: str) -> Any:
        # Starlette's State has no public methods, so any name is an attribute of the state. Keep
        # that for the names the mapping methods take ("items", "get", "keys", ...): what was
        # stored under a name is what reading the attribute gives. Private names skip the lookup.
        if not key.startswith("_"):
            state = object.__getattribute__(self, "_state")
            if key in state:
                return state[key]
        return object.__getattribute__(self, key)

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

    def __getitem__(self, key: str) -> Any:
        return self._state[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __delitem__(self, key: str) -> None:
        del self._state[key]

    def __contains__(self, key: object) -> bool:
        return key in self._state

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)

    # The dict's own methods and views, not the mixins: faster, and the mixins call other methods
    # through attributes, which a stored value of the same name would shadow.
    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` if it was never set."""
        return self._state.get(key, default)

    def keys(self) -> KeysView[str]:
        """The names set, in the order they were first set."""
        return self._state.keys()

    def values(self) -> ValuesView[Any]:
        """The values set."""
        return self._state.values()

    def items(self) -> ItemsView[str, Any]:
        """The ``(name, value)`` pairs set."""
        return self._state.items()

    def pop(self, key: str, *default: Any) -> Any:
        """Remove ``key`` and return its value, or ``default`` if given and ``key`` is not set.

        Raises:
            KeyError: ``key`` is not set and no default was given.
        """
        return self._state.pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        """Remove and return the pair set last.

        Raises:
            KeyError: the state is empty.
        """
        return self._state.popitem()

    def setdefault(self, key: str, default: Any = None) -> Any:
        """The value of ``key``; if it is not set, set it to ``default`` first."""
        return self._state.setdefault(key, default)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Set the pairs of a mapping or an iterable of pairs, then the keyword arguments."""
        self._state.update(other, **kwargs)

    def clear(self) -> None:
        """Remove everything."""
        self._state.clear()

    def copy(self) -> dict[str, Any]:
        """A shallow copy of the state, as a ``dict`` (as ``TypedDict.copy()`` is typed)."""
        return dict(self._state)

    def __or__(self, other: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(other, Mapping):
            return NotImplemented
        return {**self._state, **other}

    def __ror__(self, other: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(other, Mapping):
            return NotImplemented
        return {**other, **self._state}

    def __ior__(self, other: Mapping[str, Any]) -> State:
        self._state.update(other)
        return self

    # As Starlette's State (which is no Mapping): equal only to itself, and hashable.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

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
