"""Middleware declarations: ``Middleware(cls, *args, **kwargs)``.

A middleware is a plain ASGI class: ``__init__(app, ...)`` and ``async __call__(scope, receive,
send)``. ``Middleware`` records the class and its options so an application, router, mount or route
can build the stack once, at startup. The options are checked against the class's ``__init__`` by
mypy (the class is typed through a ``ParamSpec``), so a misspelt option fails type checking.
"""

from __future__ import annotations

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
    minimum_size=1000)`` when the stack is assembled. Unpacks as ``cls, args, kwargs`` like
    Starlette's, so code that iterates over it keeps working.
    """

    __slots__ = ("args", "cls", "kwargs")

    def __init__(self, cls: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs) -> None:
        if not callable(cls):
            raise TypeError(
                f"Middleware needs a middleware class (or factory), got {cls!r}. "
                "Pass the class itself: Middleware(CORSMiddleware, allow_origins=[...])."
            )
        self.cls = cls
        self.args: tuple[Any, ...] = tuple(args)
        self.kwargs: dict[str, Any] = dict(kwargs)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.cls, self.args, self.kwargs))

    def build(self, app: ASGIApp) -> ASGIApp:
        """Wrap ``app`` in this middleware."""
        return self.cls(app, *self.args, **self.kwargs)

    def __repr__(self) -> str:
        options = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        name = getattr(self.cls, "__name__", repr(self.cls))
        return f"Middleware({', '.join([name, *options])})"


def _build_stack(app: ASGIApp, middleware: Sequence[Middleware[Any]] | None) -> ASGIApp:
    """Wrap ``app`` so the first middleware listed is the outermost (it sees requests first)."""
    for item in reversed(middleware or ()):
        app = item.build(app)
    return app
