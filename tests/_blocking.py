"""Blocking-call detection for tests: ``blockbuster`` scanning microasgi, on asyncio and trio.

``forbid_blocking()`` activates ``blockbuster_ctx()`` for the ``microasgi`` package: a blocking
call (file I/O, ``os.stat``, ``os.path.abspath``, ``time.sleep``, a blocking socket or lock ...)
made on an event loop's thread while a microasgi frame is on the stack raises
``blockbuster.BlockingError``. Calls made in worker threads are fine, as they should be.

Two additions to blockbuster's own list:

- blockbuster only looks for an asyncio loop (``asyncio.get_running_loop()``), so on trio it would
  see nothing; here a thread running trio counts as an event loop too (its worker threads do not);
- ``open()`` (``io.open``, ``Path.open``), ``os.open`` and ``os.lstat`` are watched as well:
  opening a file and resolving symlinks (``os.path.realpath``) touch the disk as ``os.stat`` does.

Two exceptions, constructors that touch the disk on the spot as Starlette's do, which is startup
work (build them at import or startup, not inside a request): ``StaticFiles.__init__`` checks its
directory (``check_dir``) and finds its packages (docs/staticfiles.md), and ``Config.__init__``
reads its ``.env`` file.

Used by tests/test_blocking.py in every CI run, and around every test of the suite with
``pytest --blockbuster`` (or ``MICROASGI_BLOCKBUSTER=1``), see tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import blockbuster.blockbuster as _blockbuster_module
from blockbuster import BlockBuster, BlockBusterFunction, BlockingError, blockbuster_ctx

__all__ = ["BlockingError", "forbid_blocking"]

_SCANNED = ["microasgi"]
_EXTRA_FUNCTIONS = ("builtins.open", "io.open", "os.open", "os.lstat")
# Startup work that may block, as (file name ending, function names) anywhere on the stack.
_STARTUP_WORK = [("microasgi/staticfiles.py", {"__init__"}), ("microasgi/config.py", {"__init__"})]


def _running_loop() -> object:
    """``asyncio.get_running_loop()``, or a stand-in when this thread runs trio."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        # Never imported from here: this runs inside blockbuster's checks, in any thread (one
        # that is starting, say), where an import could deadlock. No trio module, no trio run.
        trio = sys.modules.get("trio")
        if trio is not None and trio.lowlevel.in_trio_run():
            return trio
        raise


@contextmanager
def forbid_blocking() -> Iterator[BlockBuster]:
    """Raise ``BlockingError`` for blocking calls made from microasgi on an event loop's thread."""
    module = cast(Any, _blockbuster_module)
    real_asyncio = module.asyncio
    # blockbuster reads asyncio.get_running_loop() through its module's global: this namespace
    # answers for trio threads too, and leaves the real asyncio module untouched.
    module.asyncio = types.SimpleNamespace(get_running_loop=_running_loop)
    extras = [
        BlockBusterFunction(None, name, scanned_modules=_SCANNED) for name in _EXTRA_FUNCTIONS
    ]
    try:
        with blockbuster_ctx(_SCANNED) as detector:
            for function in [*detector.functions.values(), *extras]:
                for filename, names in _STARTUP_WORK:
                    function.can_block_in(filename, names)
            for function in extras:
                function.activate()
            try:
                yield detector
            finally:
                for function in reversed(extras):
                    function.deactivate()
    finally:
        module.asyncio = real_asyncio
