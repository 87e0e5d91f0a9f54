"""The compiled build (``MICROASGI_COMPILE=1 pip install .``) and the hook that makes it.

``.ci/run`` runs the whole suite twice: against the pure package (this checkout, editable) and
against a compiled build installed elsewhere, with ``MICROASGI_EXPECT_COMPILED=1`` so that the
first test below proves which build the suite ran against. The hook's tests build nothing that
needs a compiler or the network.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from importlib.machinery import ExtensionFileLoader
from pathlib import Path

import pytest

import hatch_build
import microasgi

ROOT = Path(__file__).resolve().parent.parent
HOOK = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"][
    "build"
]["targets"]["wheel"]["hooks"]["custom"]
COMPILED_MODULES = [path.removesuffix(".py").replace("/", ".") for path in HOOK["compile"]]


def test_the_flag_says_which_build_runs() -> None:
    expected = os.environ.get("MICROASGI_EXPECT_COMPILED", "0") == "1"
    assert microasgi.__compiled__ is expected
    loaders = {
        name: type(importlib.import_module(name).__loader__).__name__ for name in COMPILED_MODULES
    }
    kind = ExtensionFileLoader.__name__
    if expected:
        # Every listed module is a C extension, beside its source, in the installed package.
        assert set(loaders.values()) == {kind}, loaders
        for name in COMPILED_MODULES:
            module = importlib.import_module(name)
            assert module.__file__ is not None
            assert Path(module.__file__).with_name(name.rpartition(".")[2] + ".py").is_file()
    else:
        assert kind not in loaders.values(), loaders


def test_the_compiled_modules_exist_and_the_pure_build_needs_no_compiler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hatchling.build import get_requires_for_build_wheel

    assert all((ROOT / path).is_file() for path in HOOK["compile"])
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv(hatch_build.ENV, raising=False)
    assert get_requires_for_build_wheel() == []  # no mypy, no setuptools
    monkeypatch.setenv(hatch_build.ENV, "1")
    requires = get_requires_for_build_wheel()
    assert requires[: len(HOOK["compile-requires"])] == HOOK["compile-requires"]
    assert {"anyio>=4", "multipart>=2", "typing-extensions>=4.10"} <= set(requires)


@pytest.mark.parametrize(
    ("value", "wanted"),
    [("", False), ("0", False), ("false", False), ("1", True), ("true", True), (" YES ", True)],
)
def test_the_variable(value: str, wanted: bool) -> None:
    assert hatch_build.wanted({hatch_build.ENV: value}) is wanted
    assert hatch_build.wanted({}) is False


def test_a_bad_value_says_what_is_expected() -> None:
    with pytest.raises(ValueError, match=r"MICROASGI_COMPILE must be 1 .* or 0 .*, got 'maybe'"):
        hatch_build.wanted({hatch_build.ENV: "maybe"})


def test_a_missing_compiler_is_named() -> None:
    problem = hatch_build.missing_toolchain({"CC": "no-such-cc-for-microasgi"})
    assert problem is not None
    assert "no C compiler" in problem or "Python headers" in problem
    if "no C compiler" in problem:
        assert "'no-such-cc-for-microasgi', from CC" in problem
    # The compiler that built this interpreter's extensions, when it is there, is enough.
    if hatch_build.missing_toolchain({"CC": sys.executable}) is not None:
        pytest.skip("no Python headers on this machine")


def _build(kind: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run hatchling's ``build_<kind>`` on this checkout (no isolation, no network)."""
    code = f"from hatchling.build import build_{kind}; print(build_{kind}({str(tmp_path)!r}))"
    environ = {k: v for k, v in os.environ.items() if k != hatch_build.ENV}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.integration
def test_a_compiled_build_without_a_compiler_fails_and_says_so(tmp_path: Path) -> None:
    result = _build("wheel", tmp_path, MICROASGI_COMPILE="1", CC="no-such-cc-for-microasgi")
    assert result.returncode != 0
    assert "MICROASGI_COMPILE=1 asks for a compiled build, but " in result.stderr
    assert "no C compiler was found" in result.stderr or "Python headers" in result.stderr
    assert "build without MICROASGI_COMPILE for the pure-Python package" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.integration
def test_an_editable_install_cannot_be_compiled(tmp_path: Path) -> None:
    result = _build("editable", tmp_path, MICROASGI_COMPILE="1")
    assert result.returncode != 0
    assert "MICROASGI_COMPILE=1 cannot apply to an editable install" in result.stderr


@pytest.mark.integration
def test_without_the_variable_the_wheel_is_pure(tmp_path: Path) -> None:
    result = _build("wheel", tmp_path, MICROASGI_COMPILE="0")
    assert result.returncode == 0, result.stderr
    [wheel] = tmp_path.glob("*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")


def test_the_benchmark_refuses_a_directory_without_a_compiled_build(tmp_path: Path) -> None:
    from benchmarks.inprocess import main

    with pytest.raises(SystemExit, match=r"no microasgi package there\. Install the compiled"):
        main(["--quick", "--no-memory", "--only", "plaintext", "--compiled", str(tmp_path)])
    if not microasgi.__compiled__:
        # The checkout holds the pure sources: the worker loads them and says so.
        with pytest.raises(SystemExit, match=r"\(compiled: False\), not a compiled build"):
            main(["--quick", "--no-memory", "--only", "plaintext", "--compiled", str(ROOT)])


@pytest.mark.skipif(not microasgi.__compiled__, reason="needs the compiled build (.ci/run)")
def test_the_benchmark_measures_the_compiled_build_beside_the_others(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks.inprocess import main

    site = Path(microasgi.__file__).resolve().parent.parent
    main(["--quick", "--only", "plaintext", "--impl", "raw,compiled", "--compiled", str(site)])
    out = capsys.readouterr().out
    assert "| endpoint | raw µs | raw-c µs | compiled µs |" in out
    assert "| compiled / raw-c |" in out
    assert "| compiled plaintext throughput / raw | >= 0.55 |" in out
    assert "| compiled plaintext peak bytes | <= 1024 |" in out
