"""microasgi.config: settings from the environment and a .env file, as starlette.config."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, assert_type

import pytest
import starlette.config
import starlette.datastructures

import microasgi.config
from microasgi.config import Config, Environ, EnvironError, environ, undefined
from microasgi.datastructures import CommaSeparatedStrings, Secret

ENV_FILE = """\
# Settings for the tests
DEBUG=true
SECRET_KEY = "s3cr3t"
ALLOWED_HOSTS='example.com, "api.example.com", localhost'
PORT=8000
RATIO = 0.5
EMPTY=
QUOTED_EMPTY=""
BAD_BOOL=yes
BAD_INT=eighty
SHADOWED=from-file
APP_NAME=prefixed-from-file
"""
ENVIRON = {"SHADOWED": "from-environ", "FLAG": "FALSE", "APP_PORT": "9000"}


def _write(tmp_path: Path, text: str, name: str = ".env", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    return _write(tmp_path, ENV_FILE)


@pytest.fixture
def fresh_environ(monkeypatch: pytest.MonkeyPatch) -> Environ:
    """The module-level ``environ``, with the keys this test reads forgotten afterwards."""
    monkeypatch.setattr(environ, "_has_been_read", set())
    return environ


# --- Where values come from -------------------------------------------------------------------


def test_the_environment_wins_over_the_file_which_wins_over_the_default(env_file: Path) -> None:
    config = Config(env_file, environ=dict(ENVIRON))
    assert config("SHADOWED", default="from-default") == "from-environ"
    assert config("PORT", default="1") == "8000"
    assert config("NOWHERE", default="from-default") == "from-default"


def test_a_missing_key_without_default_raises_key_error_naming_it(env_file: Path) -> None:
    config = Config(env_file, environ={})
    with pytest.raises(KeyError) as info:
        config("NOWHERE")
    message = info.value.args[0]
    assert message.startswith("Config 'NOWHERE' is missing, and has no default.")
    assert "default=" in message  # names the fix


def test_default_undefined_means_no_default() -> None:
    with pytest.raises(KeyError, match="'NOWHERE' is missing"):
        Config(environ={})("NOWHERE", default=undefined)


def test_default_none_is_returned_and_never_cast() -> None:
    config = Config(environ={})
    assert config("NOWHERE", default=None) is None
    assert config("NOWHERE", cast=int, default=None) is None


def test_a_default_is_cast_like_a_found_value() -> None:
    config = Config(environ={})
    assert config("PORT", cast=int, default="8000") == 8000
    assert config("DEBUG", cast=bool, default="TRUE") is True
    assert config("DEBUG", cast=bool, default=0) is False  # not a string: bool(0)
    hosts = config("HOSTS", cast=CommaSeparatedStrings, default=["a", "b"])
    assert list(hosts) == ["a", "b"]


def test_get_and_call_are_the_same(env_file: Path) -> None:
    config = Config(env_file, environ=dict(ENVIRON))
    for key in ("DEBUG", "SHADOWED", "PORT"):
        assert config(key) == config.get(key)
    assert config.get("PORT", int) == config("PORT", int) == 8000
    assert config.get("NOWHERE", None, "d") == config("NOWHERE", None, "d") == "d"


def test_env_prefix_applies_to_the_environment_the_file_and_the_messages(env_file: Path) -> None:
    config = Config(env_file, environ=dict(ENVIRON), env_prefix="APP_")
    assert config.env_prefix == "APP_"
    assert config("PORT", cast=int) == 9000
    assert config("NAME") == "prefixed-from-file"
    with pytest.raises(KeyError, match="'APP_DEBUG' is missing"):
        config("DEBUG")
    with pytest.raises(ValueError, match="Config 'APP_X' has value 'no'"):
        config("X", cast=bool, default="no")


def test_the_environ_mapping_is_read_at_lookup_time(env_file: Path) -> None:
    source: dict[str, str] = {}
    config = Config(env_file, environ=source)
    assert config.environ is source
    assert config("PORT") == "8000"
    source["PORT"] = "8001"
    assert config("PORT") == "8001"


def test_by_default_config_reads_os_environ_through_the_module_environ(
    monkeypatch: pytest.MonkeyPatch, fresh_environ: Environ
) -> None:
    monkeypatch.setenv("MICROASGI_TEST_CONFIG_KEY", "from-os")
    config = Config()
    assert config.environ is fresh_environ
    assert config.file_values == {}
    assert config("MICROASGI_TEST_CONFIG_KEY") == "from-os"
    with pytest.raises(EnvironError):
        fresh_environ["MICROASGI_TEST_CONFIG_KEY"] = "changed"


def test_the_brief_example_runs_from_a_dot_env_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_environ: Environ
) -> None:
    for key in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"):
        monkeypatch.delenv(key, raising=False)
    _write(tmp_path, ENV_FILE)
    monkeypatch.chdir(tmp_path)

    config = Config(".env")
    DEBUG = config("DEBUG", cast=bool, default=False)
    SECRET_KEY = config("SECRET_KEY", cast=Secret)
    ALLOWED_HOSTS = config("ALLOWED_HOSTS", cast=CommaSeparatedStrings)

    assert DEBUG is True
    assert str(SECRET_KEY) == "s3cr3t"
    assert repr(SECRET_KEY) == "Secret('**********')"
    assert list(ALLOWED_HOSTS) == ["example.com", "api.example.com", "localhost"]


# --- The env file -----------------------------------------------------------------------------

PARSING = [
    pytest.param("A=1", {"A": "1"}, id="plain"),
    pytest.param("  A = spaced value  ", {"A": "spaced value"}, id="stripped"),
    pytest.param('A="double"', {"A": "double"}, id="double-quotes"),
    pytest.param("A='single'", {"A": "single"}, id="single-quotes"),
    pytest.param('A= " padded " ', {"A": " padded "}, id="quotes-keep-inner-spaces"),
    pytest.param("A=\"mismatch'", {"A": "\"mismatch'"}, id="mismatched-quotes-kept"),
    pytest.param("A='", {"A": "'"}, id="lone-quote-kept"),
    pytest.param('A=""', {"A": ""}, id="empty-quotes"),
    pytest.param('A=""""', {"A": '""'}, id="one-pair-removed"),
    pytest.param("A=", {"A": ""}, id="empty"),
    pytest.param("A=b=c", {"A": "b=c"}, id="split-at-first-equals"),
    pytest.param("A=v # text", {"A": "v # text"}, id="no-inline-comments"),
    pytest.param("# A=1", {}, id="comment"),
    pytest.param("   # A=1", {}, id="indented-comment"),
    pytest.param("JUST A LINE", {}, id="no-equals"),
    pytest.param("", {}, id="blank"),
    pytest.param("export A=1", {"export A": "1"}, id="no-export-keyword"),
    pytest.param("=value", {"": "value"}, id="empty-key"),
    pytest.param("A=first\nA=second", {"A": "second"}, id="last-wins"),
    pytest.param("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}, id="crlf"),
    pytest.param("A=tab\there", {"A": "tab\there"}, id="inner-tab"),
    pytest.param("A=$HOME", {"A": "$HOME"}, id="no-expansion"),
]


@pytest.mark.parametrize(("text", "expected"), PARSING)
def test_env_file_parsing(tmp_path: Path, text: str, expected: dict[str, str]) -> None:
    path = _write(tmp_path, text)
    assert Config(path, environ={}).file_values == expected


@pytest.mark.parametrize(("text", "expected"), PARSING)
def test_env_file_parsing_matches_starlette(
    tmp_path: Path, text: str, expected: dict[str, str]
) -> None:
    path = _write(tmp_path, text)
    theirs = starlette.config.Config(path, environ={}).file_values
    assert Config(path, environ={}).file_values == theirs == expected


def test_env_file_accepts_str_and_path(env_file: Path) -> None:
    assert Config(str(env_file), environ={}).file_values == Config(env_file).file_values


def test_env_file_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path, "NAME=caf\u00e9\n", encoding="latin-1")
    assert Config(path, environ={}, encoding="latin-1")("NAME") == "caf\u00e9"
    with pytest.raises(UnicodeDecodeError):
        Config(path, environ={})  # utf-8 by default, as Starlette


def test_no_env_file_reads_the_environment_only() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = Config(environ={"A": "1"})
    assert config.file_values == {}
    assert config("A") == "1"


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_a_missing_env_file_warns_as_starlette_and_gives_no_values(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "missing.env" if kind == "missing" else tmp_path
    with pytest.warns(UserWarning, match="not found") as record:
        config = Config(path, environ={})
    assert config.file_values == {}
    assert len(record) == 1
    warning = record[0]
    assert type(warning.message) is UserWarning
    assert str(warning.message).startswith(f"Config file '{path}' not found.")
    assert "env_file=None" in str(warning.message)  # names the fix
    # Attributed to the module, as Starlette's is to starlette.config: module filters port.
    assert warning.filename == microasgi.config.__file__


def test_a_missing_env_file_is_an_error_where_warnings_are_errors_under_both(
    tmp_path: Path,
) -> None:
    path = tmp_path / "missing.env"
    for cls in (starlette.config.Config, Config):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(UserWarning, match=r"^Config file '.*' not found\."):
                cls(path, environ={})


# --- Casting ----------------------------------------------------------------------------------

BOOLS = [
    ("true", True),
    ("True", True),
    ("TRUE", True),
    ("1", True),
    ("false", False),
    ("False", False),
    ("FALSE", False),
    ("0", False),
]


@pytest.mark.parametrize(("raw", "expected"), BOOLS)
def test_bool_cast_accepts_four_words_in_any_case(raw: str, expected: bool) -> None:
    assert Config(environ={"FLAG": raw})("FLAG", cast=bool) is expected


@pytest.mark.parametrize("raw", ["yes", "no", "on", "", "2", "Truth"])
def test_bool_cast_refuses_anything_else(raw: str) -> None:
    with pytest.raises(ValueError, match="Not a valid bool") as info:
        Config(environ={"FLAG": raw})("FLAG", cast=bool)
    message = str(info.value)
    # Starlette's sentence, with the value lowercased as Starlette shows it, then the fix.
    assert message.startswith(f"Config 'FLAG' has value '{raw.lower()}'. Not a valid bool.")
    assert "'true', '1', 'false', '0'" in message


CASTS: list[tuple[str, Callable[[Any], Any], Any]] = [
    ("8000", int, 8000),
    ("0.5", float, 0.5),
    ("1.10", Decimal, Decimal("1.10")),
    ("/srv/app", Path, Path("/srv/app")),
    ("text", str, "text"),
]


@pytest.mark.parametrize(("raw", "cast", "expected"), CASTS)
def test_cast_is_called_with_the_string(
    raw: str, cast: Callable[[Any], Any], expected: Any
) -> None:
    assert Config(environ={"KEY": raw})("KEY", cast=cast) == expected


def _refuse_with_type_error(value: str) -> str:
    raise TypeError(f"cannot use {value}")


@pytest.mark.parametrize(
    ("cast", "name", "reason"),
    [
        (int, "int", "invalid literal for int()"),
        (float, "float", "could not convert string to float"),
        (_refuse_with_type_error, "_refuse_with_type_error", "cannot use eighty"),
    ],
)
def test_a_refused_cast_raises_value_error_in_starlettes_words(
    cast: Callable[[str], Any], name: str, reason: str
) -> None:
    with pytest.raises(ValueError, match="Not a valid") as info:
        Config(environ={"PORT": "eighty"})("PORT", cast=cast)
    message = str(info.value)
    assert message.startswith(f"Config 'PORT' has value 'eighty'. Not a valid {name}.")
    assert reason in message
    assert isinstance(info.value.__cause__, TypeError | ValueError)


def test_a_cast_without_a_name_is_named_by_its_repr() -> None:
    cast = functools.partial(int, base=2)
    with pytest.raises(ValueError, match=r"Not a valid functools\.partial\(<class 'int'>"):
        Config(environ={"MASK": "12"})("MASK", cast=cast)


def test_other_errors_from_a_cast_propagate_unchanged() -> None:
    def explode(value: str) -> str:
        raise LookupError(value)

    with pytest.raises(LookupError, match=r"^boom$"):
        Config(environ={"KEY": "boom"})("KEY", cast=explode)


def test_secret_and_comma_separated_strings_casts() -> None:
    config = Config(environ={"KEY": "s3cr3t", "HOSTS": "a.com, b.com"})
    assert str(config("KEY", cast=Secret)) == "s3cr3t"
    assert list(config("HOSTS", cast=CommaSeparatedStrings)) == ["a.com", "b.com"]


def test_the_overloads_give_precise_types() -> None:
    # Checked by mypy (the test suite is type-checked); the asserts check the runtime agrees.
    config = Config(environ={"S": "v", "N": "3", "B": "1"})
    assert assert_type(config("S"), str) == "v"
    assert assert_type(config("X", default=None), str | None) is None
    assert assert_type(config("X", default="d"), str) == "d"
    assert assert_type(config("X", default=3), str | int) == 3
    assert assert_type(config("X", None, None), str | None) is None
    assert assert_type(config("N", cast=int), int) == 3
    assert assert_type(config("N", int), int) == 3
    assert assert_type(config("X", cast=int, default=None), int | None) is None
    assert assert_type(config("X", cast=int, default=8000), int) == 8000
    assert assert_type(config("B", cast=bool, default=False), bool) is True
    assert isinstance(assert_type(config("S", cast=Secret), Secret), Secret)
    hosts = config("X", cast=CommaSeparatedStrings, default=["a"])
    assert list(assert_type(hosts, CommaSeparatedStrings)) == ["a"]
    assert assert_type(config("S", cast=lambda v: v.upper()), str) == "V"
    assert assert_type(config.get("S"), str) == "v"
    assert assert_type(config.get("X", default=None), str | None) is None
    assert assert_type(config.get("N", cast=int, default=None), int | None) == 3


# --- Environ ----------------------------------------------------------------------------------


def test_environ_reads_sets_and_deletes_keys_nobody_has_read() -> None:
    source = {"A": "1"}
    env = Environ(source)
    env["B"] = "2"
    del env["A"]
    assert source == {"B": "2"}
    assert list(env) == ["B"]
    assert len(env) == 1
    assert env["B"] == "2"


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda env: env["A"], id="getitem"),
        pytest.param(lambda env: "A" in env, id="contains"),
        pytest.param(lambda env: env.get("A"), id="get"),
    ],
)
def test_environ_refuses_to_change_a_key_once_read(read: Callable[[Environ], object]) -> None:
    env = Environ({"A": "1"})
    read(env)
    with pytest.raises(EnvironError) as info:
        env["A"] = "2"
    assert str(info.value).startswith(
        "Attempting to set environ['A'], but the value has already been read."
    )
    assert "Config(environ=" in str(info.value)
    with pytest.raises(EnvironError, match=r"^Attempting to delete environ\['A'\], but"):
        del env["A"]
    assert env["A"] == "1"


def test_environ_freezes_a_key_read_while_absent() -> None:
    env = Environ({})
    assert "LATE" not in env
    with pytest.raises(EnvironError, match="LATE"):
        env["LATE"] = "1"
    with pytest.raises(KeyError):
        env["LATER"]
    with pytest.raises(EnvironError, match="LATER"):
        env.setdefault("LATER", "1")  # reads, then sets: refused, as Starlette


def test_iterating_environ_reads_no_value() -> None:
    env = Environ({"A": "1"})
    assert list(env) == ["A"]
    assert len(env) == 1
    env["A"] = "2"
    assert env["A"] == "2"


def test_config_lookups_freeze_keys_of_an_environ(env_file: Path) -> None:
    env = Environ({"DEBUG": "false"})
    config = Config(env_file, environ=env)
    assert config("DEBUG", cast=bool) is False
    assert config("PORT") == "8000"  # from the file, but looked up in the environ first
    for key in ("DEBUG", "PORT"):
        with pytest.raises(EnvironError):
            env[key] = "1"


def test_module_environ_wraps_os_environ(
    monkeypatch: pytest.MonkeyPatch, fresh_environ: Environ
) -> None:
    assert isinstance(fresh_environ, Environ)
    monkeypatch.setenv("MICROASGI_TEST_ENVIRON_KEY", "1")
    assert fresh_environ["MICROASGI_TEST_ENVIRON_KEY"] == "1"
    assert Environ()._environ is os.environ


def test_environ_error_is_an_exception() -> None:
    assert issubclass(EnvironError, Exception)


# --- Side by side with Starlette --------------------------------------------------------------

LOOKUPS: list[tuple[str, Callable[[Any], Any] | None, Any]] = [
    ("DEBUG", None, undefined),
    ("DEBUG", bool, undefined),
    ("FLAG", bool, undefined),
    ("SECRET_KEY", None, undefined),
    ("SECRET_KEY", str, undefined),
    ("ALLOWED_HOSTS", CommaSeparatedStrings, undefined),
    ("PORT", int, undefined),
    ("PORT", float, undefined),
    ("RATIO", float, undefined),
    ("RATIO", int, undefined),
    ("EMPTY", None, undefined),
    ("EMPTY", bool, undefined),
    ("EMPTY", int, undefined),
    ("QUOTED_EMPTY", str, undefined),
    ("BAD_BOOL", bool, undefined),
    ("BAD_INT", int, undefined),
    ("SHADOWED", None, undefined),
    ("NOWHERE", None, undefined),
    ("NOWHERE", None, None),
    ("NOWHERE", int, None),
    ("NOWHERE", int, "42"),
    ("NOWHERE", bool, "TrUe"),
    ("NOWHERE", bool, 0),
    ("NOWHERE", bool, "maybe"),
    ("NOWHERE", int, [1]),
    ("NOWHERE", None, 3.5),
    ("NAME", None, undefined),
    ("APP_PORT", int, undefined),
]


def _answer(config: Any, key: str, cast: Any, default: Any) -> tuple[str, object]:
    """What a config answers: ('value', v) or (exception type name, Starlette's sentence)."""
    try:
        if default is undefined:
            value = config(key, cast=cast)
        else:
            value = config(key, cast=cast, default=default)
    except (KeyError, ValueError) as exc:
        return type(exc).__name__, str(exc.args[0])
    if isinstance(value, CommaSeparatedStrings | starlette.datastructures.CommaSeparatedStrings):
        value = list(value)
    return "value", value


@pytest.mark.parametrize("env_prefix", ["", "APP_"])
@pytest.mark.parametrize(("key", "cast", "default"), LOOKUPS)
def test_answers_match_starlette(
    env_file: Path, env_prefix: str, key: str, cast: Any, default: Any
) -> None:
    theirs_cast = {CommaSeparatedStrings: starlette.datastructures.CommaSeparatedStrings}.get(
        cast, cast
    )
    theirs_default = starlette.config.undefined if default is undefined else default
    theirs = starlette.config.Config(env_file, environ=dict(ENVIRON), env_prefix=env_prefix)
    ours = Config(env_file, environ=dict(ENVIRON), env_prefix=env_prefix)

    kind, expected = _answer(theirs, key, theirs_cast, theirs_default)
    got_kind, got = _answer(ours, key, cast, default)
    assert got_kind == kind
    if kind == "value":
        assert got == expected
        assert type(got) is type(expected)
    else:
        assert isinstance(got, str)
        assert isinstance(expected, str)
        assert got.startswith(expected), f"{got!r} does not start with Starlette's {expected!r}"


def test_file_values_and_environ_behaviour_match_starlette(env_file: Path) -> None:
    assert Config(env_file).file_values == starlette.config.Config(env_file).file_values
    for cls, error in ((Environ, EnvironError), (starlette.config.Environ, Exception)):
        env = cls({"A": "1"})
        assert "A" in env
        assert "B" not in env
        for action in (
            functools.partial(env.__setitem__, "A", "2"),
            functools.partial(env.__setitem__, "B", "2"),
            functools.partial(env.__delitem__, "A"),
        ):
            with pytest.raises(error, match="has already been read"):
                action()
        env["C"] = "3"
        assert dict(env) == {"A": "1", "C": "3"}
