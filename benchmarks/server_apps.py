"""The three benchmark apps as module-level objects, for a server's command line.

``uvicorn benchmarks.server_apps:microasgi`` (or ``:raw``, ``:starlette``; granian alike) serves
the very apps the in-process benchmark calls: the raw app of ``benchmarks/raw_app.py`` and the
endpoints of ``benchmarks/framework_apps.py`` built with microasgi or Starlette.

Each app is built on first access (a module ``__getattr__``), so a server process imports only
the framework it serves: the raw app's server never imports Starlette or microasgi, and the
module imports without Starlette installed.
"""

from __future__ import annotations

from typing import Any

# The names exist through ``__getattr__`` below, which ruff cannot see.
__all__ = ["microasgi", "raw", "starlette"]  # noqa: F822

_built: dict[str, Any] = {}


def _build(name: str) -> Any:
    if name == "raw":
        from benchmarks.raw_app import app

        return app
    from benchmarks.framework_apps import build

    return build(name)


def __getattr__(name: str) -> Any:
    """The app ``name`` ("raw", "microasgi" or "starlette"), built once.

    Raises:
        AttributeError: for any other name, as a missing module attribute does.
    """
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name not in _built:
        _built[name] = _build(name)
    return _built[name]
