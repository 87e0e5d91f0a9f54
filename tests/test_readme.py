"""The README's promises hold: its example is the tested docs example, its quickstart is two commands."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

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
