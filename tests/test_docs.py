"""Every code sample in the docs runs: docs/examples/*.py are imported and their ``test_*`` run.

Pages include the files with pymdownx.snippets (``--8<-- "docs/examples/x.py"``), so the code readers
see is the code tested here. Async example tests run on asyncio and trio.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = sorted((DOCS / "examples").glob("*.py"))
# A pymdownx snippet line, either quote style, with an optional ":section" or ":start:end" suffix.
_SNIPPET = re.compile(r"""^--8<--\s+["']([^"':]+)(?::[^"']*)?["']""", re.MULTILINE)


def _load(path: Path) -> ModuleType:
    name = f"docs_examples_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _cases(want_async: bool) -> list[Any]:
    cases = []
    for path in EXAMPLES:
        for name, fn in vars(_load(path)).items():
            if name.startswith("test_") and inspect.isfunction(fn):
                if inspect.iscoroutinefunction(fn) == want_async:
                    cases.append(pytest.param(fn, id=f"{path.stem}::{name}"))
    return cases


def test_examples_exist() -> None:
    assert EXAMPLES, "docs/examples holds no example"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_is_shown_and_tested(path: Path) -> None:
    module = _load(path)
    assert any(n.startswith("test_") for n in vars(module)), f"{path.name} has no test_* function"
    shown = {m for page in DOCS.rglob("*.md") for m in _SNIPPET.findall(page.read_text("utf-8"))}
    assert f"docs/examples/{path.name}" in shown, f"no docs page includes {path.name}"


def test_every_snippet_exists() -> None:
    for page in DOCS.rglob("*.md"):
        for ref in _SNIPPET.findall(page.read_text("utf-8")):
            assert (ROOT / ref).is_file(), f"{page.name} includes {ref}, which does not exist"


@pytest.mark.parametrize("fn", _cases(want_async=False))
def test_sync_example(fn: Callable[[], None]) -> None:
    fn()


@pytest.mark.parametrize("fn", _cases(want_async=True))
async def test_async_example(fn: Callable[[], Any]) -> None:
    await fn()
