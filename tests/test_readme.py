"""The README's promises hold: its example is the tested docs example, its quickstart is two
commands, which the docs' home page shows first; the docs' navigation follows learning order."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.MULTILINE | re.DOTALL)


def test_readme_example_is_the_tested_one() -> None:
    (example,) = _blocks("python")
    tested = (ROOT / "docs/examples/index_hello.py").read_text(encoding="utf-8")
    assert tested.startswith(example), "README example drifted from docs/examples/index_hello.py"
    assert len(example.strip().splitlines()) <= 15


def test_quickstart_has_exactly_two_commands() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^```sh\n(.*?)^```", quickstart, re.MULTILINE | re.DOTALL)
    assert len(commands) == 2
    serve, test = (c.strip() for c in commands)
    assert "\n" not in serve
    assert "\n" not in test
    assert serve.endswith(".venv/bin/uvicorn examples.notes.app:app --host 127.0.0.1 --port 8000")
    assert "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    quickstart = README.split("## Quickstart", 1)[1]
    test_command = re.findall(r"^```sh\n(.*?)^```", quickstart, re.MULTILINE | re.DOTALL)[1]
    assert test_command.strip() in (ROOT / ".ci/run").read_text(encoding="utf-8")


def test_runtime_dependencies_are_exactly_three() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    assert names == {"anyio", "multipart", "typing-extensions"}
    assert project["requires-python"] == ">=3.11"


def test_the_home_page_starts_with_the_quickstart() -> None:
    # The docs' first screen says how to start with the README's two commands, word for word,
    # before anything else is shown in a code block.
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = [c.strip() for c in re.findall(r"^```sh\n(.*?)^```", quickstart, re.M | re.S)]
    home = (ROOT / "docs/index.md").read_text(encoding="utf-8")
    first_screen = home.split("\n## ", 1)[0]
    shown = [c.strip() for c in re.findall(r"^```sh\n(.*?)^```", first_screen, re.M | re.S)]
    assert shown == commands
    for heading in ("What it is for.", "Who should use it instead of Starlette.", "How to start."):
        assert f"**{heading}**" in first_screen


def _nav_pages(entries: list[Any]) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        for value in entry.values():
            pages.extend(_nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_the_docs_navigation_lists_every_page_once_in_learning_order() -> None:
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    pages = _nav_pages(nav)
    on_disk = sorted(path.name for path in (ROOT / "docs").glob("*.md"))
    assert sorted(pages) == on_disk
    assert len(pages) == len(set(pages))
    # The introduction and the tutorial first, the concepts before the pieces, production after
    # them, then migrating, interoperability and the reference last.
    sections = [next(iter(entry)) for entry in nav]
    assert sections[:4] == ["Introduction", "Tutorial", "Concepts", "Pieces"]
    assert sections.index("Production") < sections.index("Migrating from Starlette")
    assert sections.index("Migrating from Starlette") < sections.index("Interoperability")
    assert sections[-1] == "API reference"
    order = [pages.index(page) for page in ("applications.md", "routing.md", "requests.md")]
    assert order == sorted(order)
