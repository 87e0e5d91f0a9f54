"""Casting, defaults, prefixes and the errors a bad setting gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from microasgi.config import Config
from microasgi.datastructures import CommaSeparatedStrings, Secret

config = Config(
    environ={
        "MYAPP_DEBUG": "True",
        "MYAPP_PORT": "8000",
        "MYAPP_DATABASE_PASSWORD": "hunter2",
        "MYAPP_ORIGINS": "https://example.com, https://api.example.com",
        "MYAPP_WORKERS": "four",
    },
    env_prefix="MYAPP_",  # config("DEBUG") reads MYAPP_DEBUG
)

DEBUG = config("DEBUG", cast=bool, default=False)  # bool
PORT = config("PORT", cast=int)  # int
DATABASE_PASSWORD = config("DATABASE_PASSWORD", cast=Secret)  # Secret
ORIGINS = config("ORIGINS", cast=CommaSeparatedStrings)  # CommaSeparatedStrings
STATIC_DIR = config("STATIC_DIR", cast=Path, default="static")  # Path: the default is cast too
SENTRY_DSN = config("SENTRY_DSN", default=None)  # str | None: a None default is never cast
LOG_LEVEL = config("LOG_LEVEL", default="info")  # str


def test_values_and_types() -> None:
    assert DEBUG is True
    assert PORT == 8000
    assert repr(DATABASE_PASSWORD) == "Secret('**********')"
    assert list(ORIGINS) == ["https://example.com", "https://api.example.com"]
    assert STATIC_DIR == Path("static")
    assert SENTRY_DSN is None
    assert LOG_LEVEL == "info"


def test_bad_values_raise_with_the_key_and_the_value() -> None:
    with pytest.raises(ValueError, match="Config 'MYAPP_WORKERS' has value 'four'"):
        config("WORKERS", cast=int)
    with pytest.raises(ValueError, match="Config 'MYAPP_PORT' has value '8000'"):
        config("PORT", cast=bool)  # bool accepts true, 1, false, 0, in any case
    with pytest.raises(KeyError, match="Config 'MYAPP_SECRET_KEY' is missing, and has no default"):
        config("SECRET_KEY")
