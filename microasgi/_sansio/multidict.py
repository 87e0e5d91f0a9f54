"""``ImmutableMultiDict``, ``MultiDict`` and ``QueryParams``, re-exported by ``datastructures``."""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any, Self, TypeVar
from urllib.parse import unquote_plus, urlencode

from microasgi._sansio.scope import decode_query_string

__all__ = ["ImmutableMultiDict", "MultiDict", "QueryParams", "parse_query"]

_KeyType = TypeVar("_KeyType")
_CovariantValueType = TypeVar("_CovariantValueType", covariant=True)


def parse_query(query: str) -> list[tuple[str, str]]:
    """Split a query string into decoded ``(name, value)`` pairs.

    The result equals ``urllib.parse.parse_qsl(query, keep_blank_values=True, separator="&")``
    (a property test checks it): ``&`` is the only separator, empty fields are skipped, a field
    without ``=`` has the value ``""``, ``+`` means space, and bad UTF-8 becomes U+FFFD.

    # PERF: about four times faster than ``parse_qsl``, which pays per call and per field for
    # generality; a field with no ``%`` or ``+`` is used as is, without an unquote call.
    """
    pairs = []
    for field in query.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        pairs.append((name, value))
    return pairs


def _pairs(value: Any) -> list[tuple[Any, Any]]:
    """Return the ``(key, value)`` pairs of a multidict, a mapping or an iterable of pairs."""
    if isinstance(value, ImmutableMultiDict):
        return value.multi_items()
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, str | bytes):
        raise TypeError(
            f"Expected a mapping or (key, value) pairs, got {type(value).__name__} {value!r}. "
            "Use QueryParams to parse a query string."
        )
    try:
        return [(key, item) for key, item in value]
    except (TypeError, ValueError):
        raise TypeError(
            "Expected a mapping, a multidict or an iterable of (key, value) pairs, "
            f"got {type(value).__name__}: {value!r}."
        ) from None


def _by_key(items: list[tuple[Any, Any]]) -> dict[Any, list[Any]]:
    """Group the values of ``items`` by key, keeping their order within each key."""
    groups: dict[Any, list[Any]] = {}
    for key, value in items:
        groups.setdefault(key, []).append(value)
    return groups


def _collect(args: tuple[Any, ...], kwargs: dict[str, Any], cls: type) -> list[tuple[Any, Any]]:
    if len(args) > 1:
        raise TypeError(
            f"{cls.__name__}() takes at most 1 positional argument ({len(args)} given); "
            "pass keyword arguments for more items."
        )
    items = _pairs(args[0]) if args else []
    if kwargs:
        items.extend(kwargs.items())
    return items


class ImmutableMultiDict(Mapping[_KeyType, _CovariantValueType]):
    """A read-only mapping that can hold several values per key, in order.

    Built from a mapping, a list of ``(key, value)`` pairs or another multidict, plus keyword
    arguments. As a ``Mapping`` (``d[key]``, ``get``, ``keys``, ``values``, ``items``) it shows the
    **last** value of each key; ``getlist(key)`` and ``multi_items()`` show them all.

    Two multidicts are equal, as in Starlette, when they hold the same values for each key in the
    same order (``[("a", "1"), ("a", "2")]`` is not ``[("a", "2"), ("a", "1")]``), however the
    keys interleave (``[("a", "1"), ("b", "2")]`` is ``[("b", "2"), ("a", "1")]``), and one's class
    is the other's or a subclass of it. A multidict never equals a plain ``dict``.

    Raises:
        TypeError: on more than one positional argument or a source that is not pairs.
    """

    __slots__ = ("_dict", "_list")

    def __init__(
        self,
        *args: ImmutableMultiDict[_KeyType, _CovariantValueType]
        | Mapping[_KeyType, _CovariantValueType]
        | Iterable[tuple[_KeyType, _CovariantValueType]],
        **kwargs: Any,
    ) -> None:
        self._set(_collect(args, kwargs, type(self)))

    @classmethod
    def _of(cls, items: list[tuple[Any, Any]]) -> Self:
        """A multidict over ``items``, a list of pairs this package built (taken, not copied)."""
        # PERF: the public constructor checks and copies whatever it is given.
        new = cls.__new__(cls)
        new._set(items)
        return new

    def _set(self, items: list[tuple[Any, Any]]) -> None:
        self._list: list[tuple[Any, Any]] = items
        self._dict: dict[Any, Any] = dict(items)

    def getlist(self, key: Any) -> list[_CovariantValueType]:
        """Every value of ``key``, in order; ``[]`` if absent."""
        return [item_value for item_key, item_value in self._list if item_key == key]

    def keys(self) -> KeysView[_KeyType]:
        """The distinct keys, in order of first appearance."""
        return self._dict.keys()

    def values(self) -> ValuesView[_CovariantValueType]:
        """The last value of each key."""
        return self._dict.values()

    def items(self) -> ItemsView[_KeyType, _CovariantValueType]:
        """``(key, last value)`` for each distinct key."""
        return self._dict.items()

    def multi_items(self) -> list[tuple[_KeyType, _CovariantValueType]]:
        """Every ``(key, value)`` pair, duplicates included, in order (a new list)."""
        return list(self._list)

    def __getitem__(self, key: _KeyType) -> _CovariantValueType:
        return self._dict[key]  # type: ignore[no-any-return]

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[_KeyType]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __eq__(self, other: object) -> bool:
        # As Starlette's: a multidict equals one of its own class (or a subclass, either way round)
        # holding the same keys with the same values in the same order for each key; how the
        # values of different keys interleave does not matter.
        if not isinstance(other, type(self)):
            return NotImplemented
        mine, theirs = self._list, other._list
        return len(mine) == len(theirs) and _by_key(mine) == _by_key(theirs)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.multi_items()!r})"


class MultiDict(ImmutableMultiDict[Any, Any]):
    """A mutable ``ImmutableMultiDict``.

    ``d[key] = value`` and ``setlist`` replace every value of a key (moving it to the end);
    ``append`` adds one. ``pop`` and ``__delitem__`` remove every value of a key.
    """

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        self.setlist(key, [value])

    def __delitem__(self, key: Any) -> None:
        del self._dict[key]
        self._list = [(k, v) for k, v in self._list if k != key]

    def pop(self, key: Any, default: Any = None) -> Any:
        """Remove every value of ``key`` and return the last, or ``default`` if absent."""
        if key not in self._dict:
            return default
        self._list = [(k, v) for k, v in self._list if k != key]
        return self._dict.pop(key)

    def popitem(self) -> tuple[Any, Any]:
        """Remove the most recently inserted key; return it with its last value.

        Raises:
            KeyError: if the multidict is empty.
        """
        key, value = self._dict.popitem()
        self._list = [(k, v) for k, v in self._list if k != key]
        return key, value

    def poplist(self, key: Any) -> list[Any]:
        """Remove every value of ``key`` and return them in order (``[]`` if absent)."""
        values = self.getlist(key)
        self.pop(key)
        return values

    def clear(self) -> None:
        """Remove everything."""
        self._dict.clear()
        self._list.clear()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """Return the value of ``key``; if absent, add ``key`` with ``default`` first."""
        if key not in self._dict:
            self.append(key, default)
        return self._dict[key]

    def setlist(self, key: Any, values: list[Any]) -> None:
        """Replace every value of ``key`` with ``values`` (removing ``key`` when empty)."""
        if not values:
            self.pop(key)
            return
        self._list = [(k, v) for k, v in self._list if k != key]
        self._list.extend((key, value) for value in values)
        self._dict[key] = values[-1]

    def append(self, key: Any, value: Any) -> None:
        """Add one value for ``key``, keeping the existing ones."""
        self._list.append((key, value))
        self._dict[key] = value

    def update(
        self,
        *args: MultiDict | Mapping[Any, Any] | Iterable[tuple[Any, Any]],
        **kwargs: Any,
    ) -> None:
        """Replace the values of each key given (a multidict keeps all its values per key)."""
        new = _collect(args, kwargs, type(self))
        replaced = dict(new)
        self._list = [(k, v) for k, v in self._list if k not in replaced] + new
        # Keys already present keep their place in the Mapping view, as Starlette's do.
        self._dict.update(replaced)


class QueryParams(ImmutableMultiDict[str, str]):
    """Query string parameters: an ``ImmutableMultiDict`` of ``str`` to ``str``.

    Built from a query string (``str``, or the ``bytes`` of ``scope["query_string"]``), a list of
    pairs or a mapping; keys and values are converted with ``str()``. A query string is parsed
    with blank values kept and ``&`` as the only separator (never ``;``), and only when first read.
    ``str()`` gives it back URL-encoded.

    # SECURITY: parsing is linear in the length of the query string and happens only when a
    # parameter is read. The server bounds the URL length (uvicorn/h11 refuse request lines
    # over 64 KiB, for example), which bounds this work; put a limit in front of servers that
    # do not.
    """

    __slots__ = ("_query",)

    def __init__(
        self,
        *args: ImmutableMultiDict[Any, Any]
        | Mapping[Any, Any]
        | Iterable[tuple[Any, Any]]
        | str
        | bytes,
        **kwargs: Any,
    ) -> None:
        if len(args) == 1 and isinstance(args[0], str | bytes):
            self._query: str | bytes = args[0]
            if kwargs:
                self._parse()
                self._set(self._list + [(str(k), str(v)) for k, v in kwargs.items()])
            return
        items = _collect(args, kwargs, type(self))
        self._set([(str(k), str(v)) for k, v in items])

    def _parse(self) -> None:
        query = self._query
        if isinstance(query, bytes):
            query = decode_query_string(query)
        self._set(parse_query(query))

    def __str__(self) -> str:
        return urlencode(self._list)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


def _parse_on_first_read(self: QueryParams, name: str) -> Any:
    if name in ("_list", "_dict"):
        self._parse()
        return object.__getattribute__(self, name)
    raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


# PERF: a query string is parsed on the first read of ``_list`` or ``_dict``: until then those slots
# are unset, and reading an unset slot falls back to ``__getattr__`` (exactly once). It is attached
# with setattr so that type checkers do not see a ``__getattr__`` and attribute typos stay errors.
setattr(QueryParams, "__getattr__", _parse_on_first_read)  # noqa: B010
