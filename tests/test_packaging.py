"""The package as users get it: ``python -m build`` makes an sdist and a wheel, and the wheel,
installed in a fresh virtual environment, imports every public module and ships ``py.typed``.

Needs the network for the build backend and the three runtime dependencies (the package index, or
pip's cache), as CI has.
"""

from __future__ import annotations

import email.parser
import json
import os
import pkgutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import microasgi

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(microasgi.__path__, prefix="microasgi.")
    if not any(part.startswith("_") for part in info.name.split("."))
)
TIMEOUT = 120.0

# Run in the fresh environment: import each module given on the command line and report where
# the package came from, so a stray import of the source tree cannot pass for the wheel.
CHECK = """
import importlib, json, sys
loaded = {name: importlib.import_module(name).__name__ for name in sys.argv[1:]}
extras = {}
for extra, module in [("templating", "microasgi.templating"),
                      ("opentelemetry", "microasgi.middleware.opentelemetry")]:
    try:
        importlib.import_module(module)
    except ImportError as error:
        extras[extra] = str(error)
    else:
        extras[extra] = "imported"
import microasgi, multipart
print(json.dumps({"file": microasgi.__file__, "loaded": loaded, **extras,
                  "push_parser": hasattr(multipart, "PushMultipartParser")}))
"""


def run(*command: str | Path, cwd: Path) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_build_install_and_import_every_public_module(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # Without flags build makes the sdist, then the wheel from the sdist: the sdist is complete.
    run(sys.executable, "-m", "build", "--outdir", dist, ROOT, cwd=tmp_path)
    [sdist] = dist.glob("microasgi-*.tar.gz")
    [wheel] = dist.glob("microasgi-*-py3-none-any.whl")

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [metadata_name] = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(metadata_name).decode())
    assert "microasgi/py.typed" in names
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "microasgi").rglob("*.py")}
    assert sources <= names, f"missing from the wheel: {sorted(sources - names)}"
    assert not any(name.startswith(("tests/", "docs/")) for name in names)
    required = sorted(r for r in metadata.get_all("Requires-Dist", []) if "extra ==" not in r)
    assert [r.split(">")[0].split("=")[0].strip() for r in required] == [
        "anyio",
        "multipart",
        "typing-extensions",
    ]
    with tarfile.open(sdist) as archive:
        members = {
            member.name.split("/", 1)[1] for member in archive.getmembers() if "/" in member.name
        }
    assert {"pyproject.toml", "README.md", "microasgi/py.typed"} <= members

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)
    optional = {"microasgi.templating", "microasgi.middleware.opentelemetry"}
    base = [m for m in PUBLIC_MODULES if m not in optional]
    report = json.loads(run(python, "-c", CHECK, *base, cwd=tmp_path))
    assert Path(report["file"]).is_relative_to(venv), report["file"]
    assert report["loaded"] == {name: name for name in base}
    assert report["push_parser"] is True  # the 'multipart' we depend on, not a shadowing shim
    # Without the templates and opentelemetry extras the errors say how to install them ...
    assert "pip install 'microasgi[templates]'" in report["templating"]
    assert "pip install 'microasgi[opentelemetry]'" in report["opentelemetry"]
    # ... and with them templating and the OpenTelemetry middleware import too.
    run(
        python, "-m", "pip", "install", "--quiet", f"{wheel}[templates,opentelemetry]", cwd=tmp_path
    )
    report = json.loads(run(python, "-c", CHECK, *PUBLIC_MODULES, cwd=tmp_path))
    assert report["templating"] == "imported"
    assert report["opentelemetry"] == "imported"
    assert sorted(report["loaded"]) == PUBLIC_MODULES
