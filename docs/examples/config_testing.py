"""Test settings go into the environment before the app reads them; afterwards they are frozen."""

from __future__ import annotations

import pytest

from microasgi.config import Config, Environ, EnvironError

# In tests/conftest.py this is `from microasgi.config import environ`, which wraps os.environ.
# Here it wraps a plain dict, so the example leaves the real environment alone.
environ = Environ({"DATABASE_URL": "postgresql://db.internal/app"})

# conftest.py, before the app module is imported: nothing has read these keys yet.
environ["TESTING"] = "true"
environ["DATABASE_URL"] = "sqlite:///test.db"

# The app's settings module, imported afterwards.
config = Config(environ=environ)
TESTING = config("TESTING", cast=bool, default=False)
DATABASE_URL = config("DATABASE_URL")


def test_the_app_sees_the_test_settings() -> None:
    assert TESTING is True
    assert DATABASE_URL == "sqlite:///test.db"


def test_a_setting_cannot_change_after_it_was_read() -> None:
    # Changing it now would leave DATABASE_URL, already read, pointing at the old database.
    with pytest.raises(EnvironError, match=r"environ\['DATABASE_URL'\], but the value has already"):
        environ["DATABASE_URL"] = "sqlite:///other.db"
    with pytest.raises(EnvironError):
        del environ["TESTING"]
    environ["UNREAD"] = "fine"  # keys nobody has read can still change
