"""``Headers`` and ``MutableHeaders``, re-exported by :mod:`microasgi.datastructures`.

Both are views over an ASGI header list (``[(name, value), ...]`` of lowercase-name ``bytes``
pairs); nothing is decoded until it is read.

# PERF: a lookup is a linear scan over the raw list, comparing bytes. Requests carry a dozen or
# two headers and an app reads a few of them. Measured with timeit on a 16-header request, a
# lookup of the LAST header (the worst case) took ~0.6 µs, while building a name -> value dict
# took ~0.9 µs before its first lookup; a scan also never goes stale when the list it views is
# edited (``MutableHeaders`` writes back into it), which a cached index would.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any, Self, TypeVar, overload

from microasgi._sansio.headers import encode_header

__all__ = ["Headers", "MutableHeaders"]

_T = TypeVar("_T")
_RawHeaders = Sequence[tuple[bytes, bytes]]


# PERF: the names an app looks up, lowercased and encoded once. SECURITY: bounded, so names built
# from client input cannot grow it (past the bound, names are converted on every lookup).
_LOOKUP_NAMES: dict[str, bytes] = {}
_LOOKUP_NAMES_MAX = 512


def _lookup_name(key: object) -> bytes | None:
    """Return the raw form of header name ``key``, or ``None`` if no header can have that name."""
    try:
        name: bytes = key.lower().encode("latin-1")  # type: ignore[attr-defined]
    except (AttributeError, UnicodeEncodeError):
        return None
    if len(_LOOKUP_NAMES) < _LOOKUP_NAMES_MAX and type(key) is str:
        _LOOKUP_NAMES[key] = name
    return name


class Headers(Mapping[str, str]):
    """An immutable, case-insensitive, multi-valued view of HTTP headers, decoded as latin-1.

    Give at most one source: ``headers`` (a mapping of names to values, validated), ``raw`` (an
    ASGI header list, used as is) or ``scope`` (an ASGI scope or message, whose ``"headers"`` list
    is used as is, without copying). Raw header names must be lowercase, as ASGI requires.

    ``headers["name"]`` is the first value; ``getlist`` returns all of them. ``keys()``,
    ``values()``, ``items()`` and iteration list every header, duplicates included.

    Raises:
        TypeError: if more than one source is given.
        ValueError: if a name or value in ``headers`` is not a valid header.
    """

    __slots__ = ("_list",)

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        raw: list[tuple[bytes, bytes]] | None = None,
        scope: MutableMapping[str, Any] | None = None,
    ) -> None:
        self._list: _RawHeaders
        # PERF: Headers(scope=scope) is built for every request; test that case first.
        if scope is not None and headers is None and raw is None:
            source = scope.get("headers", [])
            if type(source) is not list and not isinstance(source, list | tuple):
                # SPEC: headers is any iterable; materialize a one-shot iterator once, for everyone.
                source = scope["headers"] = list(source)
            self._list = source
        elif (headers is not None) + (raw is not None) + (scope is not None) > 1:
            given = [
                n
                for n, s in (("headers=", headers), ("raw=", raw), ("scope=", scope))
                if s is not None
            ]
            raise TypeError(
                f"{type(self).__name__}() takes one source of headers, got {' and '.join(given)}. "
                "Pass only headers=, raw= or scope=."
            )
        elif headers is not None:
            self._list = [encode_header(name, value) for name, value in headers.items()]
        elif raw is not None:
            self._list = raw
        else:
            self._list = []

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The ASGI header list: ``[(name, value), ...]`` as bytes."""
        raw = self._list
        return raw if isinstance(raw, list) else list(raw)

    def keys(self) -> list[str]:  # type: ignore[override]
        """Every header name, duplicates included, in order."""
        return [name.decode("latin-1") for name, _ in self._list]

    def values(self) -> list[str]:  # type: ignore[override]
        """Every header value, duplicates included, in order."""
        return [value.decode("latin-1") for _, value in self._list]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        """Every ``(name, value)`` pair, duplicates included, in order."""
        return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in self._list]

    def getlist(self, key: str) -> list[str]:
        """Every value of header ``key`` (case-insensitive), in order; ``[]`` if absent."""
        name = _lookup_name(key)
        return [value.decode("latin-1") for raw_name, value in self._list if raw_name == name]

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str | _T) -> str | _T: ...
    def get(self, key: str, default: object = None) -> object:
        """The first value of header ``key`` (case-insensitive), or ``default``."""
        # PERF: overridden so that a missing header costs no KeyError; a known name costs no call.
        name = _LOOKUP_NAMES.get(key) if type(key) is str else None
        if name is None:
            name = _lookup_name(key)
        for raw_name, value in self._list:
            if raw_name == name:
                return value.decode("latin-1")
        return default

    def mutablecopy(self) -> MutableHeaders:
        """A ``MutableHeaders`` over a copy of this header list."""
        return MutableHeaders(raw=list(self._list))

    def __getitem__(self, key: str) -> str:
        name = _LOOKUP_NAMES.get(key) if type(key) is str else None
        if name is None:
            name = _lookup_name(key)
        for raw_name, value in self._list:
            if raw_name == name:
                return value.decode("latin-1")
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        name = _lookup_name(key)
        return any(raw_name == name for raw_name, _ in self._list)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        # Order-insensitive; entries may be lists ([name, value]) or tuples.
        return sorted(map(tuple, self._list)) == sorted(map(tuple, other._list))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        as_dict = dict(self.items())
        if len(as_dict) == len(self):
            return f"{type(self).__name__}({as_dict!r})"
        return f"{type(self).__name__}(raw={self.raw!r})"


class MutableHeaders(Headers):
    """Headers you can change, writing through to the list they view.

    ``MutableHeaders(scope=message)`` puts a copy of ``message["headers"]`` into the message and
    edits that (so a list shared with a reused ``Response`` is never changed; an empty list is
    added when the key is missing): the usual way for a middleware to change the headers of an
    ``http.response.start`` message. ``MutableHeaders(raw=lst)`` edits ``lst`` itself.

    # SECURITY: every name and value written goes through ``microasgi._sansio.headers.encode_header``,
    # which lowercases the name and raises ``ValueError`` on CR, LF, NUL and other control
    # characters, so header injection can never reach the wire.

    Raises:
        TypeError: if more than one source is given, or ``raw`` is not a list.
        ValueError: if a name or value written is not a valid header.
    """

    __slots__ = ("_mutable",)

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        raw: list[tuple[bytes, bytes]] | None = None,
        scope: MutableMapping[str, Any] | None = None,
    ) -> None:
        if raw is not None and not isinstance(raw, list):
            raise TypeError(
                f"MutableHeaders(raw=...) edits the list in place and needs a list, got "
                f"{type(raw).__name__}. Pass list(raw), or use Headers(raw=...) to only read."
            )
        super().__init__(headers, raw, scope)
        if scope is not None:
            # The message's list may be shared: a Response sends its own raw_headers, and a
            # response object reused across requests would gather every edit. Edit a copy, and
            # put the copy in the message (as Starlette does).
            current = scope["headers"] = list(self._list)
        else:
            current = self._list if isinstance(self._list, list) else list(self._list)
        self._mutable: list[tuple[bytes, bytes]] = current
        self._list = current

    def __setitem__(self, key: str, value: str) -> None:
        """Set header ``key`` to ``value``, replacing every existing value of that name."""
        pair = encode_header(key, value)
        items = self._mutable
        found = [index for index, (name, _) in enumerate(items) if name == pair[0]]
        if not found:
            items.append(pair)
            return
        items[found[0]] = pair
        for index in reversed(found[1:]):
            del items[index]

    def __delitem__(self, key: str) -> None:
        """Remove every value of header ``key``; a missing header is not an error (as Starlette)."""
        name = _lookup_name(key)
        self._mutable[:] = [item for item in self._mutable if item[0] != name]

    def __ior__(self, other: Mapping[str, str]) -> Self:
        if not isinstance(other, Mapping):
            raise TypeError(
                f"Expected a mapping of header names to values, got {type(other).__name__}."
            )
        self.update(other)
        return self

    def __or__(self, other: Mapping[str, str]) -> MutableHeaders:
        if not isinstance(other, Mapping):
            raise TypeError(
                f"Expected a mapping of header names to values, got {type(other).__name__}."
            )
        new = self.mutablecopy()
        new.update(other)
        return new

    def setdefault(self, key: str, value: str) -> str:
        """Return the first value of ``key``; if absent, append ``value`` first and return it."""
        pair = encode_header(key, value)
        for name, existing in self._mutable:
            if name == pair[0]:
                return existing.decode("latin-1")
        self._mutable.append(pair)
        return value

    def update(self, other: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        """Set each header of ``other`` (a mapping or ``(name, value)`` pairs), as ``h[k] = v``."""
        pairs = other.items() if isinstance(other, Mapping) else other
        for key, value in pairs:
            self[key] = value

    def append(self, key: str, value: str) -> None:
        """Add a value for ``key``, keeping the existing ones (e.g. for ``set-cookie``)."""
        self._mutable.append(encode_header(key, value))

    def add_vary_header(self, vary: str) -> None:
        """Add the field names in ``vary`` to ``Vary``, merging every ``Vary`` field into one.

        Every ``Vary`` field present (in any case, any number of them) is kept: they are merged
        into one, where each field name appears once (compared without case) and the names of
        ``vary`` not yet listed come last. ``*`` (varies on everything) absorbs the rest.
        """
        items = self._mutable
        names: list[str] = []
        seen: set[str] = set()
        first = -1
        kept: list[tuple[bytes, bytes]] = []
        for index, (name, value) in enumerate(items):
            if name.lower() != b"vary":
                kept.append((name, value))
                continue
            # SECURITY: dropping one of several Vary fields would let a shared cache serve one
            # user's variant (Vary: Cookie) to another.
            if first < 0:
                first = index
            names.extend(value.decode("latin-1").split(","))
        names.extend(vary.split(","))
        merged: list[str] = []
        for token in names:
            token = token.strip()
            if token and token.lower() not in seen:
                seen.add(token.lower())
                merged.append(token)
        if merged:
            # SPEC: RFC 9110 section 12.5.5, "*" varies on everything and stands alone.
            pair = encode_header("vary", "*" if "*" in seen else ", ".join(merged))
            kept.insert(first if first >= 0 else len(kept), pair)
        items[:] = kept
