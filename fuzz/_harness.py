"""Shared plumbing of the atheris harnesses in this directory (see docs/security.md, "Fuzzing").

Each harness is a script: ``python fuzz/fuzz_<target>.py [libFuzzer flags]``, for instance
``-max_total_time=60`` or ``-runs=100000``. A harness's ``test_one(data)`` feeds one input to its
target and lets through only the exceptions the target documents; anything else escapes, and
atheris reports it with the input that caused it (saved as ``crash-<sha1>`` in the current
directory, to replay with ``python fuzz/fuzz_<target>.py crash-<sha1>``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def run(test_one: Callable[[bytes], None]) -> None:
    """Hand ``test_one`` to atheris with the command line's libFuzzer flags, and fuzz."""
    import atheris  # type: ignore[import-untyped, unused-ignore]

    atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()


def instrumented() -> Any:
    """``atheris.instrument_imports()``: import microasgi inside it for coverage feedback."""
    import atheris  # type: ignore[import-untyped, unused-ignore]

    return atheris.instrument_imports(include=["microasgi"])


def provider(data: bytes) -> Any:
    """An ``atheris.FuzzedDataProvider`` over ``data``."""
    import atheris  # type: ignore[import-untyped, unused-ignore]

    return atheris.FuzzedDataProvider(data)


def text(data: bytes) -> str:
    """Bytes as an ASGI server hands header values over: latin-1, every byte one character."""
    return data.decode("latin-1")
