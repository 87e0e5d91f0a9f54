"""The public surface is exactly what the docs describe (style.md item 2).

Every public module declares a sorted ``__all__`` whose names exist, and its documentation holds one
mkdocstrings line (``::: microasgi.module.Name``) per public name, or one line for the whole module.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import microasgi

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_DIRECTIVE = re.compile(r"^:::\s+(microasgi(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*$", re.MULTILINE)

PUBLIC_MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(microasgi.__path__, prefix="microasgi.")
    if not any(part.startswith("_") for part in info.name.split("."))
)


def _documented() -> set[str]:
    found: set[str] = set()
    for page in DOCS.rglob("*.md"):
        found.update(_DIRECTIVE.findall(page.read_text(encoding="utf-8")))
    return found


def test_there_are_public_modules() -> None:
    assert "microasgi.requests" in PUBLIC_MODULES
    assert "microasgi.types" in PUBLIC_MODULES


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_is_sorted_and_resolves(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = module.__all__
    assert names == sorted(names), f"{module_name}.__all__ is not sorted"
    assert len(names) == len(set(names)), f"{module_name}.__all__ repeats a name"
    for name in names:
        assert hasattr(module, name), f"{module_name}.__all__ names {name!r}, which is missing"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_docs_reference_matches_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    documented = _documented()
    if module_name in documented:
        return  # the whole module is rendered, every public name with it
    in_docs = {
        d.rsplit(".", 1)[1]
        for d in documented
        if d.rsplit(".", 1)[0] == module_name and d not in PUBLIC_MODULES  # a submodule's page
    }
    assert in_docs == set(module.__all__), (
        f"docs and {module_name}.__all__ disagree: "
        f"undocumented {sorted(set(module.__all__) - in_docs)}, "
        f"documented but not public {sorted(in_docs - set(module.__all__))}"
    )


def test_every_directive_points_at_something_public() -> None:
    for directive in _documented():
        module_name, _, name = directive.rpartition(".")
        if directive in PUBLIC_MODULES:
            continue
        module = importlib.import_module(module_name)
        assert name in module.__all__, f"docs render {directive}, which is not public"


def test_package_reexports_the_everyday_names() -> None:
    for name in microasgi.__all__:
        obj = getattr(microasgi, name)
        home = importlib.import_module(obj.__module__)
        assert getattr(home, name) is obj
        assert name in home.__all__


def test_package_ships_py_typed() -> None:
    assert (Path(microasgi.__file__).parent / "py.typed").is_file()


def test_multipart_is_the_push_parser_we_depend_on() -> None:
    # python-multipart also answers ``import multipart``; a clash must fail loudly here.
    import multipart

    assert hasattr(multipart, "PushMultipartParser"), (
        f"'import multipart' found {multipart.__file__}, not the 'multipart' package microasgi needs. "
        "Uninstall python-multipart's shim or install 'multipart>=2'."
    )
