"""The headers of a test request or response, read as HTTPX reads them.

A Starlette test suite runs on an HTTPX client, so its assertions read headers HTTPX's way: a
repeated header comes back joined with ``", "`` (``set-cookie`` too), ``get_list`` and
``multi_items`` keep the values apart, and names iterate once each. This is that reading, over
``microasgi.datastructures.MutableHeaders`` (so ``getlist``, ``raw`` and ``isinstance`` checks
keep working).
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any

from microasgi.datastructures import MutableHeaders

__all__ = ["ClientHeaders"]


class ClientHeaders(MutableHeaders):
    """HTTP headers with HTTPX's reading rules (see the module docstring).

    Names and values decode as ASCII, else UTF-8, else ISO-8859-1, whichever fits every header
    (HTTPX's rule; set :attr:`encoding` to choose).
    """

    _encoding: str | None = None

    @property
    def encoding(self) -> str:
        """The encoding header names and values are decoded with."""
        if self._encoding is None:
            self._encoding = "iso-8859-1"
            for candidate in ("ascii", "utf-8"):
                try:
                    for name, value in self.raw:
                        name.decode(candidate)
                        value.decode(candidate)
                except UnicodeDecodeError:
                    continue
                self._encoding = candidate
                break
        return self._encoding

    @encoding.setter
    def encoding(self, value: str) -> None:
        self._encoding = value

    def _joined(self) -> dict[str, str]:
        joined: dict[str, str] = {}
        for name, value in self.multi_items():
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        return joined

    def multi_items(self) -> list[tuple[str, str]]:
        """Every ``(name, value)`` pair, repeated names included, in order."""
        encoding = self.encoding
        return [(name.decode(encoding), value.decode(encoding)) for name, value in self.raw]

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        """Each header name once, in order of first appearance."""
        return self._joined().keys()

    def values(self) -> ValuesView[str]:  # type: ignore[override]
        """Each header's value, repeated headers joined with ``", "``."""
        return self._joined().values()

    def items(self) -> ItemsView[str, str]:  # type: ignore[override]
        """Each ``(name, value)``, repeated headers joined with ``", "``."""
        return self._joined().items()

    def get_list(self, key: str, split_commas: bool = False) -> list[str]:
        """Every value of header ``key``, in order; ``split_commas`` splits lists like ``a, b``."""
        try:
            name = key.lower().encode(self.encoding)
        except (AttributeError, UnicodeEncodeError):
            return []  # no header can have that name
        values = [value.decode(self.encoding) for raw, value in self.raw if raw == name]
        if not split_commas:
            return values
        return [item.strip() for value in values for item in value.split(",")]

    def getlist(self, key: str) -> list[str]:
        """Every value of header ``key`` (Starlette's name for :meth:`get_list`)."""
        return self.get_list(key)

    def get(self, key: str, default: Any = None) -> Any:
        """The value of header ``key`` (repeated headers joined with ``", "``), or ``default``."""
        values = self.get_list(key)
        return ", ".join(values) if values else default

    def _text(self, value: object) -> str:
        return value.decode(self.encoding) if isinstance(value, bytes) else str(value)

    def copy(self) -> ClientHeaders:
        """An independent copy."""
        return ClientHeaders(raw=list(self.raw))

    def __getitem__(self, key: str) -> str:
        values = self.get_list(key)
        if not values:
            raise KeyError(key)
        return ", ".join(values)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ClientHeaders):
            pairs: list[Any] = other.multi_items()
        elif isinstance(other, Mapping):
            pairs = list(other.items())  # a microasgi Headers lists repeated names apart
        elif isinstance(other, list | tuple):
            pairs = list(other)
        else:
            return NotImplemented
        try:
            theirs = sorted((self._text(k).lower(), self._text(v)) for k, v in pairs)
        except (TypeError, ValueError):
            return False  # not pairs, or bytes that do not decode
        return sorted((k.lower(), v) for k, v in self.multi_items()) == theirs

    __hash__ = None  # type: ignore[assignment]
