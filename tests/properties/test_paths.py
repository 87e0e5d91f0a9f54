"""Properties of route paths: compiling (``microasgi._sansio.matcher.compile_path``), matching (the trie
``Matcher`` and ``Route.matches``), converters (``microasgi.convertors``) and reversing
(``url_path_for``).

Documented errors: ``ValueError`` for a malformed template (at construction) and for a value a
converter cannot write (``url_path_for``); ``NoMatchFound`` for an unknown name or wrong
parameters. Matching raises nothing: a path matches or it does not (404/405).

Also: tests/sansio/test_matcher.py::test_trie_equals_linear_scan (the trie picks the entry a linear
scan over the declared routes would, for random tables and paths).
"""

from __future__ import annotations

import math
import re
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from microasgi._sansio.matcher import Entry, Match, Matcher
from microasgi._sansio.paths import compile_path
from microasgi.convertors import IntegerConvertor
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse
from microasgi.routing import Match as RouteMatch
from microasgi.routing import Mount, NoMatchFound, Route, Router

from ._linear import assert_linear

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEMPLATE_PARAM = re.compile(r"{([^{}:]*)(?::[^{}]*)?}")
# Path text: anything but the control characters no route ever matches.
_PATH_CHARS = st.characters(codec="utf-8").filter(lambda char: not _CONTROL.match(char))
segments = st.text(_PATH_CHARS.filter(lambda c: c != "/"), min_size=1, max_size=12)

# (template piece, strategy of the value it takes); N is the parameter's name.
_PIECES: list[tuple[str, st.SearchStrategy[Any]]] = [
    ("{N}", segments),
    ("{N:str}", segments),
    ("{N:int}", st.integers(0, 10**30)),
    ("{N:float}", st.floats(min_value=0, allow_nan=False, allow_infinity=False)),
    ("{N:uuid}", st.uuids()),
    ("x-{N:int}.json", st.integers(0, 10**6)),
]
_STATIC = st.from_regex(r"[a-z0-9._~-]{1,8}", fullmatch=True)


def _endpoint(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")  # never called: the tests only build and match


@st.composite
def templates(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A route template and parameter values for it (at most one ``:path``, at the end)."""
    parts, params = [], {}
    for index in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["static", "param", "str-int"]))
        if kind == "static":
            parts.append(draw(_STATIC))
        elif kind == "param":
            piece, values = draw(st.sampled_from(_PIECES))
            parts.append(piece.replace("N", f"p{index}"))
            params[f"p{index}"] = draw(values)
        else:
            # A str, a literal, an int: the greedy str gives the int back, whatever it holds.
            parts.append(f"{{a{index}}}-{{b{index}:int}}")
            params[f"a{index}"] = draw(segments)
            params[f"b{index}"] = draw(st.integers(0, 10**6))
    template = "/" + "/".join(parts)
    if draw(st.booleans()):
        template = template.rstrip("/") + "/{rest:path}"
        params["rest"] = draw(st.text(_PATH_CHARS, max_size=20))
    return template, params


@settings(max_examples=120, deadline=None)
@given(templates())
def test_url_path_for_then_match_round_trips(case: tuple[str, dict[str, Any]]) -> None:
    """Round trip: values -> ``url_path_for`` -> matching (by the router's trie and by the
    route's own regex) gives back the same values, for every converter."""
    template, params = case
    route = Route(template, _endpoint, name="r")
    path = Router(routes=[route]).url_path_for("r", **params)
    assert path == route.url_path_for("r", **params)
    assert not path.startswith("//")  # CWE-601: never another host
    assert "\\" not in path
    # A leading "//" and backslashes are escaped ("/%2F", "%5C"), so those values do not come
    # back as they were given: the price of a path that cannot leave the site (as Starlette).
    assume(not path.startswith("/%2F") and "%5C" not in path)

    found = Matcher([Entry(0, route.compiled, frozenset({"http"}), None, route)]).lookup(
        "http", path
    )
    assert isinstance(found, Match)
    assert found.params == params

    _match, child = route.matches({"type": "http", "path": path, "method": "GET"})
    assert child["path_params"] == params


@settings(max_examples=60, deadline=None)
@given(templates(), templates())
def test_mounted_routes_round_trip(
    outer: tuple[str, dict[str, Any]], inner: tuple[str, dict[str, Any]]
) -> None:
    """Round trip through a mount: ``url_path_for("m:r", ...)`` builds prefix and route, and the
    mount then the route match it back to every parameter of both."""
    (prefix, outer_params), (template, inner_params) = outer, inner
    prefix = prefix.removesuffix("/{rest:path}").rstrip("/")
    outer_params.pop("rest", None)
    inner_params = {f"i{name}": value for name, value in inner_params.items()}
    template = re.sub(r"{(\w)", r"{i\1", template)
    route = Route(template, _endpoint, name="r")
    mount = Mount(prefix, routes=[route], name="m")
    params = {**outer_params, **inner_params}
    path = Router(routes=[mount]).url_path_for("m:r", **params)
    assert not path.startswith("//")
    # Each level escapes the path it builds, so an inner "//" is "/%2F" too (as in Starlette).
    assume("%2F" not in path and "%5C" not in path)

    match, child = mount.matches({"type": "http", "path": path, "root_path": "", "method": "GET"})
    assert match is RouteMatch.FULL
    _, found = route.matches({"type": "http", "path": path, "method": "GET", **child})
    assert found["path_params"] == params


@settings(max_examples=120, deadline=None)
@given(st.text(st.sampled_from("/{}:abcintpathfloatuuid_0 ") | _PATH_CHARS, max_size=30))
def test_any_template_compiles_or_raises_value_error(template: str) -> None:
    """Totality of compiling: any text is a template or a ``ValueError`` naming the fix
    (``Route`` raises it at construction, never on a request), and a template that compiles
    builds into a router."""
    for is_prefix in (False, True):
        try:
            compiled = compile_path(template, is_prefix=is_prefix)
        except ValueError:
            continue
        # The parameters are exactly the well-formed "{name}" / "{name:kind}" pieces of the
        # template's segments.
        pieces = [_TEMPLATE_PARAM.findall(segment) for segment in compiled.path.split("/")]
        assert set(compiled.param_convertors) == {name for names in pieces for name in names}
        if not is_prefix:
            # What compiles also builds into a router (F-props-4: a stray brace, literal text
            # in a route path, broke the router's shadowing check).
            Router(routes=[Route(template, _endpoint)])


@pytest.mark.parametrize("template", ["/a}", "/x{", "/{a", "/{a}}/{b}", "/{/}"])
def test_stray_braces_are_literal_text(template: str) -> None:
    """Regression (F-props-4, found by the compiling property): a route path with a stray brace
    compiled, then building the router raised "Single '}' encountered in format string". A stray
    brace is literal text, as in Starlette: the router builds and the route answers its path."""
    route = Route(template, _endpoint, name="r")
    router = Router(routes=[route])
    params = {name: "v" for name in route.param_convertors}
    path = router.url_path_for("r", **params)
    assert (
        route.matches({"type": "http", "path": path, "method": "GET"})[1]["path_params"] == params
    )


_TABLE = [
    "/",
    "/users/{id:int}",
    "/users/{name}",
    "/files/{rest:path}",
    "/price/{value:float}",
    "/items/{key:uuid}",
    "/{a}.{b}",
    "/static/x",
]
_MATCHER = Matcher(
    [Entry(i, compile_path(path), frozenset({"http"}), None, path) for i, path in enumerate(_TABLE)]
)
_ROUTES = [Route(path, _endpoint) for path in _TABLE]
_HOSTILE_PATHS = st.text(st.sampled_from("/.9%\x00\n é{}") | st.characters(), max_size=40)


@settings(max_examples=120, deadline=None)
@given(
    _HOSTILE_PATHS
    | st.integers(4000, 5000).map(lambda n: "/users/" + "9" * n)
    | st.integers(300, 400).map(lambda n: "/price/" + "9" * n + ".5")
)
def test_any_path_matches_or_not_without_error(path: str) -> None:
    """Totality of matching: any path (controls, non-ASCII, thousands of digits) matches a
    route or none; no converter error escapes (it would be a 500); a match holds no control
    character."""
    found = _MATCHER.lookup("http", path)
    for route in _ROUTES:
        route.matches({"type": "http", "path": path, "method": "GET"})
    if isinstance(found, Match):
        assert not _CONTROL.search(path)


def test_int_segments_beyond_the_int_digit_limit_do_not_match() -> None:
    """Regression (bug found by these properties, fixed in ``IntegerConvertor.matches``):
    ``/users/<4301 digits>`` made ``int()`` raise ``ValueError: Exceeds the limit (4300 digits)
    for integer string conversion`` inside the router, a 500 for any client (CWE-20 / CWE-400,
    the limit of CVE-2020-10735). Such a segment is no int now: the path does not match (404)."""
    limit = sys.get_int_max_str_digits()
    route = Route("/users/{id:int}", _endpoint)
    too_long = {"type": "http", "path": "/users/" + "1" * (limit + 1), "method": "GET"}
    longest = {"type": "http", "path": "/users/" + "0" * (limit - 1) + "7", "method": "GET"}
    assert route.matches(too_long)[1] == {}
    assert route.matches(longest)[1]["path_params"] == {"id": 7}
    found = _MATCHER.lookup("http", too_long["path"])
    assert isinstance(found, Match)
    assert found.entry.target == "/users/{name}"  # the next route in the table, not the int one
    try:
        sys.set_int_max_str_digits(0)  # no limit: every run of digits is an int again
        assert IntegerConvertor().matches("1" * (limit + 1))
    finally:
        sys.set_int_max_str_digits(limit)


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(["str", "int", "float", "uuid", "path"]),
    st.one_of(
        st.text(max_size=10),
        st.integers(-5, 10**5),
        st.floats(),
        st.uuids(),
        st.none(),
        st.booleans(),
    ),
)
def test_reversing_any_value_raises_only_value_error(kind: str, value: object) -> None:
    """Totality of reversing: any value for any converter gives a path that matches back, or a
    ``ValueError`` saying what the converter takes: never a link no route would answer."""
    route = Route(f"/v/{{x:{kind}}}", _endpoint, name="v")
    try:
        path = route.url_path_for("v", x=value)
    except ValueError:
        return
    assert route.matches({"type": "http", "path": path, "method": "GET"})[1]


def test_negative_zero_is_written_as_zero() -> None:
    """Regression (found by the reversing property, fixed in ``FloatConvertor.to_string``):
    ``-0.0`` passed the ``>= 0`` check and was written ``"-0"``, a path the float converter
    does not match, so ``url_for`` built a dead link."""
    route = Route("/p/{v:float}", _endpoint, name="p")
    path = route.url_path_for("p", v=-0.0)
    assert path == "/p/0"
    assert route.matches({"type": "http", "path": path, "method": "GET"})[1]["path_params"] == {
        "v": 0.0
    }


@pytest.mark.parametrize("kind", ["str", "path"])
@pytest.mark.parametrize("value", ["a\nb", "\r\nSet-Cookie: x=1", "\x00", "a\x7f"])
def test_control_characters_are_refused_when_reversing(kind: str, value: str) -> None:
    """Regression (found by the reversing property, fixed in ``convertors``): ``url_path_for``
    wrote control characters into a path that no route matches (they never match), so
    ``url_for`` built dead links, and CR/LF in a link is a header or markup injection shape
    (CWE-93 / CWE-113). It raises ``ValueError`` now, like any value a converter cannot write."""
    route = Route(f"/v/{{x:{kind}}}", _endpoint, name="v")
    with pytest.raises(ValueError, match="control character"):
        route.url_path_for("v", x=value)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "x", "name"]), st.integers(0, 9), max_size=3))
def test_wrong_parameters_raise_no_match_found(params: dict[str, int]) -> None:
    """``url_path_for`` with other parameters than the route takes raises ``NoMatchFound``."""
    router = Router(routes=[Route("/users/{id:int}", _endpoint, name="user")])
    if set(params) == {"id"}:
        assert router.url_path_for("user", **params) == f"/users/{params['id']}"
        return
    with pytest.raises(NoMatchFound):
        router.url_path_for("user", **params)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda n: "/" * n, id="slashes"),
        pytest.param(lambda n: "/users" * n, id="static-segments"),
        pytest.param(lambda n: "/files" + "/a" * n, id="path-tail"),
        pytest.param(lambda n: "/users/" + "9" * n, id="digits"),
        pytest.param(lambda n: "/" + "a." * n, id="dots-in-two-param-segment"),
        pytest.param(lambda n: "/price/" + "1" * n + ".", id="float-almost"),
        pytest.param(lambda n: "/" + "%" * n, id="percents"),
    ],
)
def test_matching_hostile_paths_stays_linear(build: Callable[[int], str]) -> None:
    """CWE-1333 / CWE-407: matching a long path against the table costs linear time, through
    the trie (the cost follows the path, not the number of routes)."""
    assert_linear(build, lambda path: _MATCHER.lookup("http", path), 2_000)


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=0, allow_nan=False, allow_infinity=False))
def test_floats_are_written_without_exponent_and_read_back_exactly(value: float) -> None:
    """Round trip of the float converter alone: the text has no exponent and no sign, matches
    the converter, and reads back as the very same float (0.1 is "0.1", 1e-300 exact)."""
    route = Route("/p/{v:float}", _endpoint, name="p")
    text = route.url_path_for("p", v=value).removeprefix("/p/")
    assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", text)
    assert float(text) == value
    assert math.isfinite(float(text))


def test_uuid_paths_are_canonical() -> None:
    """A UUID is written in its canonical lowercase form whatever form it was given in."""
    value = uuid.UUID("8F0C37A1-0000-4000-8000-000000000001")
    route = Route("/i/{k:uuid}", _endpoint, name="i")
    assert route.url_path_for("i", k=str(value).upper()) == f"/i/{value}"
