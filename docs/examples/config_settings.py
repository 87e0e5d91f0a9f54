"""A Starlette settings module with only its imports changed, run as a module of its own."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

SETTINGS_PY = """\
# --8<-- [start:settings]
from microasgi.config import Config
from microasgi.datastructures import CommaSeparatedStrings, Secret

config = Config(".env")
DEBUG = config("DEBUG", cast=bool, default=False)
SECRET_KEY = config("SECRET_KEY", cast=Secret)
ALLOWED_HOSTS = config("ALLOWED_HOSTS", cast=CommaSeparatedStrings)
# --8<-- [end:settings]
print(DEBUG, repr(SECRET_KEY), list(ALLOWED_HOSTS))
"""


def test_the_settings_module_runs_unchanged() -> None:
    # A child process, so the settings read its own environment and leave this one alone.
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "settings.py").write_text(SETTINGS_PY, encoding="utf-8")
        Path(tmp, ".env").write_text(
            "DEBUG=false\nSECRET_KEY='s3cr3t'\nALLOWED_HOSTS=example.com, localhost\n",
            encoding="utf-8",
        )
        result = subprocess.run(
            [sys.executable, "-W", "error", "settings.py"],
            cwd=tmp,
            env={"DEBUG": "TRUE", "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            capture_output=True,
            text=True,
            check=True,
        )
    # DEBUG from the environment, the rest from .env; the secret never printed.
    assert result.stdout == "True Secret('**********') ['example.com', 'localhost']\n"
