"""The package's layers, as ``microasgi/__init__.py`` and docs/architecture.md describe them.

Read from the source, not from what happens to be imported: every ``import`` counts, those under
``TYPE_CHECKING`` and inside functions included. No module imports in a circle; each imports only
its own layer and those below; each can be imported alone, first, in a fresh interpreter; and no
module grows past the size where it should be split by concept.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import microasgi

PACKAGE = Path(microasgi.__file__).resolve().parent

# Lower layers first. A module's layer is that of its longest listed prefix.
LAYERS: dict[str, int] = {
    # 1. foundation
    "microasgi.types": 1,
    "microasgi.exceptions": 1,
    "microasgi.status": 1,
    "microasgi.convertors": 1,
    "microasgi.config": 1,
    # 2. protocol
    "microasgi._sansio": 2,
    # 3. connections
    "microasgi._asgi": 3,
    "microasgi.requests": 3,
    "microasgi.responses": 3,
    "microasgi.datastructures": 3,
    "microasgi.formparsers": 3,
    "microasgi.websockets": 3,
    "microasgi.background": 3,
    "microasgi.concurrency": 3,
    # 4. dispatch
    "microasgi._routing": 4,
    "microasgi.routing": 4,
    "microasgi.endpoints": 4,
    "microasgi.middleware": 4,
    "microasgi.authentication": 4,
    "microasgi.staticfiles": 4,
    "microasgi.templating": 4,
    "microasgi.schemas": 4,
    # 5. application
    "microasgi.applications": 5,
    "microasgi": 5,
    # 6. testing
    "microasgi.testclient": 6,
}
MAX_LINES = 650


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["microasgi", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> dict[str, int]:
    """The microasgi modules ``name`` imports, each with the line of its first import."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            # Importing a submodule runs its package's __init__ too, but that is no dependency
            # of the importer's code; the package itself is importing its own children.
            if target and target != name and not name.startswith(target + "."):
                found.setdefault(target, node.lineno)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(name: str) -> int:
    prefixes = [p for p in LAYERS if name == p or name.startswith(p + ".")]
    assert prefixes, f"{name} belongs to no layer: add it to LAYERS (and to the docs' picture)"
    return LAYERS[max(prefixes, key=len)]


def test_the_graph_is_read() -> None:
    assert "microasgi._sansio.headers" in GRAPH["microasgi._sansio.headermap"]
    assert "microasgi._routing.router" in GRAPH["microasgi.routing"]


def test_no_module_imports_in_a_circle() -> None:
    # Tarjan's strongly connected components: any with more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in GRAPH[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    described = [
        " -> ".join(c) + ": " + "; ".join(f"{a} imports {b}" for a in c for b in GRAPH[a] if b in c)
        for c in cycles
    ]
    assert not cycles, "import cycles (move the shared piece down a layer): " + " | ".join(
        described
    )


def test_each_module_imports_only_its_layer_and_those_below() -> None:
    upward = [
        f"{name} (layer {_layer(name)}) imports {other} (layer {_layer(other)}) at line {line}"
        for name, imports in GRAPH.items()
        for other, line in imports.items()
        if _layer(other) > _layer(name)
    ]
    assert not upward, "\n".join(upward)


def test_the_protocol_layer_does_no_io() -> None:
    for name, path in MODULES.items():
        if name.startswith("microasgi._sansio"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                    module = node.module if isinstance(node, ast.ImportFrom) else ""
                    for imported in [*names, module or ""]:
                        assert imported.split(".")[0] not in ("anyio", "asyncio", "trio"), (
                            f"{name} imports {imported}: the protocol layer does no I/O"
                        )


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    # One interpreter, microasgi's modules forgotten before each import: the module is imported
    # first, as an app or a test importing only it would, so an import that works only after
    # another module was loaded (a hidden circle) fails here.
    code = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m == 'microasgi' or m.startswith('microasgi.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
        "print('imported', len(sys.argv) - 1)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *sorted(MODULES)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"imported {len(MODULES)}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_outgrows_one_concept(name: str) -> None:
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, (
        f"{name} has {lines} lines: split it by concept (one module per concept, style item 1)"
    )


def test_private_helpers_live_in_layer_packages() -> None:
    # ``ls microasgi/`` shows the public modules, middleware/, testclient/ and the layers' private
    # packages; no private module sits flat beside the public ones.
    flat = sorted(p.name for p in PACKAGE.glob("_*.py") if p.name != "__init__.py")
    assert flat == []
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert packages == ["_asgi", "_routing", "_sansio", "middleware", "testclient"]
