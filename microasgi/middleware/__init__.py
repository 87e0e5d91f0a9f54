"""Middleware declarations: ``Middleware(cls, *args, **kwargs)``.

A middleware is a plain ASGI class: ``__init__(app, **options)`` and ``async __call__(scope,
receive, send)``. ``Middleware`` records the class and its options so an application, router, mount
or route can build the stack once, when it starts. The options are checked twice: by mypy (the class
is typed through a ``ParamSpec``, so a misspelt option fails type checking) and at construction
against the class's signature (so it fails at import time, not at the first request).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from typing import Any, Generic, Protocol

from typing_extensions import ParamSpec

from microasgi.types import ASGIApp

__all__ = ["Middleware"]

P = ParamSpec("P")


class _MiddlewareFactory(Protocol[P]):
    def __call__(self, app: ASGIApp, /, *args: P.args, **kwargs: P.kwargs) -> ASGIApp: ...


class Middleware(Generic[P]):
    """A middleware class and the options to build it with.

    ``Middleware(GZipMiddleware, minimum_size=1000)`` builds ``GZipMiddleware(app,
    minimum_size=1000)`` when the stack is assembled. It unpacks as ``cls, args, kwargs`` like
    Starlette's, so code that iterates over it keeps working.

    Args:
        cls: the middleware class (or any factory ``cls(app, *args, **kwargs) -> ASGI app``).
        *args: positional options, after ``app``.
        **kwargs: keyword options.

    Raises:
        TypeError: ``cls`` is not callable, or does not accept these options.
    """

    __slots__ = ("args", "cls", "kwargs")

    def __init__(self, cls: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs) -> None:
        if not callable(cls):
            raise TypeError(
                f"Middleware needs a middleware class (or factory), got {cls!r}. "
                "Pass the class itself: Middleware(GZipMiddleware, minimum_size=1000)."
            )
        _check_options(cls, args, kwargs)
        self.cls = cls
        self.args: tuple[Any, ...] = args
        self.kwargs: dict[str, Any] = kwargs

    def __iter__(self) -> Iterator[Any]:
        return iter((self.cls, self.args, self.kwargs))

    def build(self, app: ASGIApp) -> ASGIApp:
        """Return ``app`` wrapped in this middleware: ``cls(app, *args, **kwargs)``."""
        return self.cls(app, *self.args, **self.kwargs)

    def __repr__(self) -> str:
        options = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"Middleware({', '.join([_name(self.cls), *options])})"


def _name(cls: Any) -> str:
    return str(getattr(cls, "__name__", repr(cls)))


def _check_options(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Raise now, not at the first request, when ``cls(app, *args, **kwargs)`` cannot bind."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return  # Some builtins and C types have no signature: nothing to check against.
    try:
        signature.bind(None, *args, **kwargs)
    except TypeError as exc:
        raise TypeError(
            f"{_name(cls)} does not accept these options: {exc}. "
            f"Its signature is {_name(cls)}{signature}."
        ) from None


def _build_stack(app: ASGIApp, middleware: Sequence[Middleware[Any]] | None) -> ASGIApp:
    """Wrap ``app`` so the first middleware listed is the outermost (it sees requests first)."""
    for item in reversed(middleware or ()):
        app = item.build(app)
    return app
