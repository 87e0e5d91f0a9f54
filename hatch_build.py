"""The wheel's build hook: ``MICROASGI_COMPILE=1 pip install .`` compiles the hot modules with mypyc.

Without the variable (or with ``MICROASGI_COMPILE=0``) the hook does nothing: the wheel is pure
Python, tagged ``py3-none-any``, and the build needs neither mypy nor a C compiler.

With it, the modules listed as ``compile`` under ``[tool.hatch.build.targets.wheel.hooks.custom]``
in pyproject.toml are compiled by mypyc into C extensions, in a copy of the package in a temporary
directory (the source tree is left as it was, so an editable install beside it stays pure), and
the extensions go into the wheel next to the unchanged ``.py`` sources: Python imports the
extension first. The wheel is then tagged for this interpreter and platform. The build needs a C
compiler and the Python headers, and says so when they are missing. docs/performance.md ("A
compiled build") lists what is compiled and why.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ENV = "MICROASGI_COMPILE"
PACKAGE = "microasgi"
# mypyc builds the compiled modules into one shared library, beside the package at the top of
# site-packages: ``microasgi__mypyc`` (its default name would be a hash).
GROUP = PACKAGE

# Run by the interpreter doing the build, in the temporary copy: mypyc type-checks the package
# and writes C, setuptools compiles it next to the copied sources.
_SETUP = """\
import json, sys
from setuptools import setup
from mypyc.build import mypycify

args, group = json.loads(sys.argv[1])
setup(
    name="microasgi-compiled",
    ext_modules=mypycify(args, opt_level="3", group_name=group),
    script_args=["build_ext", "--inplace"],
)
"""


def wanted(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether ``MICROASGI_COMPILE`` asks for a compiled build."""
    value = environ.get(ENV, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(
        f"{ENV} must be 1 (compile the hot modules with mypyc) or 0 (pure Python), got "
        f"{environ[ENV]!r}."
    )


def missing_toolchain(environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """Why this machine cannot compile C extensions for this Python, or None if it can."""
    if not os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h")):
        return (
            f"the Python headers are missing (no Python.h in {sysconfig.get_paths()['include']}); "
            "install them (python3-dev on Debian and Ubuntu, python3-devel on Fedora)"
        )
    if os.name == "nt":  # setuptools finds MSVC itself; there is no CC to look up
        return None
    command = environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    words = shlex.split(command)
    if not words or shutil.which(words[0]) is None:
        return (
            f"no C compiler was found (looked for {words[0] if words else command!r}, from "
            f"{'CC' if environ.get('CC') else 'the interpreter build settings'}); install one "
            "(gcc or clang, e.g. apt-get install gcc) or set CC to it"
        )
    return None


def compile_modules(root: Path, modules: list[str], work: Path) -> dict[str, str]:
    """Compile ``modules`` (paths relative to ``root``) in a copy of the package under ``work``.

    Returns the built extensions, each mapped to its path in the wheel.

    Raises:
        RuntimeError: mypyc or the C compiler failed; the message holds their output.
    """
    copy = work / PACKAGE
    shutil.copytree(
        root / PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd")
    )
    (work / "mypyc_setup.py").write_text(_SETUP, encoding="utf-8")
    args = [
        "--config-file",
        str(root / "pyproject.toml"),
        # A ``type: ignore`` that one Python version needs and another does not must not stop
        # the build; ``mypy`` in CI keeps them honest on the version it checks.
        "--no-warn-unused-ignores",
        *modules,
    ]
    result = subprocess.run(
        [sys.executable, "mypyc_setup.py", json.dumps([args, GROUP])],
        cwd=work,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{ENV}=1: mypyc could not compile {PACKAGE} (exit status {result.returncode}). "
            f"Build without {ENV} for the pure-Python package. Its output:\n"
            f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
        )
    suffixes = (".so", ".pyd")
    built = {
        str(path): path.relative_to(work).as_posix()
        for path in sorted([*copy.rglob("*"), *work.glob("*")])
        if path.name.endswith(suffixes)
    }
    expected = {module.removesuffix(".py") for module in modules}
    found = {name.split(".", 1)[0] for name in built.values()}
    if not expected <= found:
        raise RuntimeError(
            f"{ENV}=1: mypyc built no extension for {sorted(expected - found)}; its output:\n"
            f"{result.stdout[-6000:]}"
        )
    return built


class CompileHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compile the listed modules when ``MICROASGI_COMPILE=1``; otherwise do nothing."""

    PLUGIN_NAME = "custom"

    def _modules(self) -> list[str]:
        modules = self.config.get("compile", [])
        if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
            raise TypeError(f"the hook's `compile` must be a list of paths, got {modules!r}")
        for module in modules:
            if not (Path(self.root) / module).is_file():
                raise ValueError(f"the hook's `compile` lists {module!r}, which does not exist")
        return modules

    def dependencies(self) -> list[str]:
        """What the build environment needs: nothing for the pure build; mypy, setuptools and
        the runtime dependencies (mypyc type-checks against them) for the compiled one."""
        if not wanted():
            return []
        requires = self.config.get("compile-requires", [])
        return [*requires, *self.metadata.core.dependencies]

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or not wanted():
            return
        if version == "editable":
            raise RuntimeError(
                f"{ENV}=1 cannot apply to an editable install, which runs the sources as they "
                f"are: install without -e for a compiled build, or unset {ENV}."
            )
        problem = missing_toolchain()
        if problem is not None:
            raise RuntimeError(
                f"{ENV}=1 asks for a compiled build, but {problem}. Or build without {ENV} for "
                "the pure-Python package, which needs no compiler."
            )
        self._work = Path(tempfile.mkdtemp(prefix="microasgi-mypyc-"))
        build_data["force_include"].update(
            compile_modules(Path(self.root), self._modules(), self._work)
        )
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        work = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
