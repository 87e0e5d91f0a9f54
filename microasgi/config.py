"""Settings from the environment and a ``.env`` file, as Starlette's ``starlette.config``.

``Config(".env")`` answers ``config("KEY", cast=..., default=...)`` from the process environment
first, then from the file, then from the default, and raises ``KeyError`` when none has the key.
``environ`` wraps ``os.environ`` so that a key, once read, cannot be changed behind the back of the
code that read it (``EnvironError``): set test settings before the app module is imported.

The module uses the standard library only, so it works with or without the rest of microasgi.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any, TypeVar, overload

__all__ = ["Config", "Environ", "EnvironError", "environ", "undefined"]

_T = TypeVar("_T")
_D = TypeVar("_D")

# SPEC: Starlette's bool cast accepts exactly these four words, in any case.
_BOOLS = {"true": True, "1": True, "false": False, "0": False}
_QUOTES = ("'", '"')


class undefined:  # lowercase, as Starlette spells it: ported code passes ``default=undefined``
    """The "no default" marker: ``config("KEY", default=undefined)`` raises when ``KEY`` is unset.

    It is the class itself, never an instance, that is passed and compared by identity.
    """


class EnvironError(Exception):
    """Raised when code sets or deletes an ``Environ`` key that has already been read."""


class Environ(MutableMapping[str, str]):
    """A mapping over ``os.environ`` (or any mutable mapping) that freezes every key once read.

    Reading a key, even one that is absent (``environ[key]``, ``key in environ``,
    ``environ.get(key)``), records it; setting or deleting a recorded key then raises
    ``EnvironError``, because whatever read it already holds the old value. Iterating and
    ``len()`` record nothing.

    Args:
        environ: the mapping to wrap; ``os.environ`` by default.
    """

    def __init__(self, environ: MutableMapping[str, str] = os.environ) -> None:
        self._environ = environ
        self._has_been_read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        # SPEC: recorded before the lookup, so a key found missing is frozen too (as Starlette).
        self._has_been_read.add(key)
        return self._environ[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._refuse_if_read("set", key)
        self._environ[key] = value

    def __delitem__(self, key: str) -> None:
        self._refuse_if_read("delete", key)
        del self._environ[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)

    def _refuse_if_read(self, action: str, key: str) -> None:
        if key in self._has_been_read:
            raise EnvironError(
                f"Attempting to {action} environ['{key}'], but the value has already been read. "
                f"Change {key!r} before the code that reads it runs (for example at the top of "
                "conftest.py, before importing the app), or give Config a mapping of its own: "
                "Config(environ={...})."
            )


environ = Environ()
"""The process environment as an ``Environ``; the default source of every ``Config``."""


class Config:
    """Settings read from the environment, then from an env file, then from a default.

    ``env_file`` holds ``KEY=value`` lines. Each line is stripped; lines starting with ``#`` or
    without ``=`` are skipped; the key and value are split at the first ``=`` and stripped, and one
    pair of matching quotes (``'...'`` or ``"..."``) around the value is removed. Nothing else is
    interpreted: no ``export``, no escapes, no inline comments, no variable expansion. A later line
    overrides an earlier one with the same key.

    Args:
        env_file: the file to read; ``None`` reads the environment only. A missing file is not an
            error: it gives a ``UserWarning`` ("Config file '...' not found.") and no values.
        environ: where to look first; the module's ``environ`` (``os.environ``) by default.
        env_prefix: prepended to every key looked up, ``"APP_"`` makes ``config("DEBUG")`` read
            ``APP_DEBUG``.
        encoding: the env file's encoding.

    Attributes:
        environ: the mapping given as ``environ``.
        env_prefix: the prefix given as ``env_prefix``.
        file_values: the ``KEY: value`` pairs read from ``env_file``.
    """

    def __init__(
        self,
        env_file: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] = environ,
        env_prefix: str = "",
        encoding: str = "utf-8",
    ) -> None:
        self.environ = environ
        self.env_prefix = env_prefix
        self.file_values: dict[str, str] = {}
        if env_file is not None:
            if os.path.isfile(env_file):
                self.file_values = self._read_file(env_file, encoding)
            else:
                # SPEC: Starlette warns (UserWarning) and carries on, and so does a port; a suite
                # that turns warnings into errors fails here under either. stacklevel=1 keeps the
                # warning attributed to this module, so a filter naming the module ports too.
                warnings.warn(
                    f"Config file '{env_file}' not found. Create it, or pass env_file=None to "
                    "read settings from the environment only.",
                    UserWarning,
                    stacklevel=1,
                )

    # The overloads of __call__ and get: no cast gives ``str``; a default adds its own type
    # (``default=None`` gives ``str | None``); a cast gives what it returns, ``| None`` when the
    # default is None (a None default is returned as is, never cast); any other default is cast.
    @overload
    def __call__(
        self, key: str, cast: None = None, default: type[undefined] = undefined
    ) -> str: ...
    @overload
    def __call__(self, key: str, cast: None = None, *, default: _D) -> str | _D: ...
    @overload
    def __call__(self, key: str, cast: None, default: _D) -> str | _D: ...
    @overload
    def __call__(
        self, key: str, cast: Callable[[str], _T], default: type[undefined] = undefined
    ) -> _T: ...
    @overload
    def __call__(self, key: str, cast: Callable[[str], _T], default: None) -> _T | None: ...
    @overload
    def __call__(self, key: str, cast: Callable[[str | _D], _T], default: _D) -> _T: ...
    def __call__(
        self, key: str, cast: Callable[[Any], Any] | None = None, default: Any = undefined
    ) -> Any:
        """Look up ``key``; the same as ``get``."""
        return self.get(key, cast, default)

    @overload
    def get(self, key: str, cast: None = None, default: type[undefined] = undefined) -> str: ...
    @overload
    def get(self, key: str, cast: None = None, *, default: _D) -> str | _D: ...
    @overload
    def get(self, key: str, cast: None, default: _D) -> str | _D: ...
    @overload
    def get(
        self, key: str, cast: Callable[[str], _T], default: type[undefined] = undefined
    ) -> _T: ...
    @overload
    def get(self, key: str, cast: Callable[[str], _T], default: None) -> _T | None: ...
    @overload
    def get(self, key: str, cast: Callable[[str | _D], _T], default: _D) -> _T: ...
    def get(
        self, key: str, cast: Callable[[Any], Any] | None = None, default: Any = undefined
    ) -> Any:
        """Look up ``env_prefix + key`` in the environment, then the env file, then ``default``.

        Args:
            key: the setting's name, without the prefix.
            cast: called with the string found (or with the default, unless it is ``None``) to
                make the value; ``bool`` accepts ``"true"``, ``"1"``, ``"false"``, ``"0"`` in any
                case, as well as non-string defaults.
            default: returned (cast) when the key is in neither place.

        Raises:
            KeyError: the key is in neither place and there is no default.
            ValueError: ``cast`` refused the value (raised ``ValueError`` or ``TypeError``).
        """
        key = self.env_prefix + key
        if key in self.environ:
            return self._perform_cast(key, self.environ[key], cast)
        if key in self.file_values:
            return self._perform_cast(key, self.file_values[key], cast)
        if default is undefined:
            raise KeyError(
                f"Config '{key}' is missing, and has no default. Set {key!r} in the environment "
                "or in the env file, or pass a default: config(..., default=...)."
            )
        return self._perform_cast(key, default, cast)

    def _read_file(self, file_name: str | os.PathLike[str], encoding: str) -> dict[str, str]:
        values: dict[str, str] = {}
        with open(file_name, encoding=encoding) as file:
            for raw_line in file:
                line = raw_line.strip()
                if line.startswith("#"):
                    continue
                name, equals, value = line.partition("=")
                if not equals:
                    continue
                value = value.strip()
                if len(value) >= 2 and value[0] in _QUOTES and value[-1] == value[0]:
                    value = value[1:-1]
                values[name.strip()] = value
        return values

    def _perform_cast(self, key: str, value: Any, cast: Callable[[Any], Any] | None = None) -> Any:
        if cast is None or value is None:
            return value
        if cast is bool and isinstance(value, str):
            # Starlette's message shows the lowercased value; kept so ported assertions match.
            lowered = value.lower()
            if lowered not in _BOOLS:
                raise ValueError(
                    f"Config '{key}' has value '{lowered}'. Not a valid bool. Use one of "
                    "'true', '1', 'false', '0' (in any case)."
                )
            return _BOOLS[lowered]
        try:
            return cast(value)
        except (TypeError, ValueError) as exc:
            name = getattr(cast, "__name__", repr(cast))
            raise ValueError(
                f"Config '{key}' has value '{value}'. Not a valid {name}. Set {key!r} to a "
                f"value that {name} accepts; it said: {exc}"
            ) from exc
