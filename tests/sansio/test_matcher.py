"""The compiled matcher decides exactly as a linear scan over the declared routes would."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi._sansio.matcher import Entry, Match, Matcher
from microasgi._sansio.paths import CompiledPath, compile_path
from microasgi.convertors import Convertor, StringConvertor

HTTP = frozenset({"http"})
WS = frozenset({"websocket"})
BOTH = frozenset({"http", "websocket"})


def route(
    index: int, path: str, methods: set[str] | None = None, types: frozenset[str] = HTTP
) -> Entry:
    return Entry(index, compile_path(path), types, frozenset(methods) if methods else None, path)


def mount(index: int, path: str) -> Entry:
    return Entry(
        index, compile_path(path, is_prefix=True), BOTH, None, f"mount:{path}", is_mount=True
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def linear(entries: list[Entry], scope_type: str, path: str, method: str) -> Any:
    """The oracle: the first declared entry whose whole-path regex matches."""
    allowed: set[str] = set()
    if _CONTROL.search(path):
        return frozenset()
    for entry in sorted(entries, key=lambda e: e.index):
        if scope_type not in entry.scope_types:
            continue
        match = entry.compiled.regex.fullmatch(path)
        if match is None:
            continue
        groups = match.groupdict()
        rest = groups.pop("_mount_rest", None) or ""
        convs = entry.compiled.param_convertors
        if not all(convs[k].matches(v) for k, v in groups.items()):
            continue
        if entry.methods is None or method in entry.methods:
            return (entry.target, {k: convs[k].convert(v) for k, v in groups.items()}, rest)
        allowed |= entry.methods
    return frozenset(allowed)


def trie(matcher: Matcher, scope_type: str, path: str, method: str) -> Any:
    found = matcher.lookup(scope_type, path, method)
    if isinstance(found, Match):
        return (found.entry.target, found.params, found.rest)
    return found


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/users/me", ("/users/me", {}, "")),
        ("/users/42", ("/users/{id:int}", {"id": 42}, "")),
        ("/users/bob", ("/users/{name}", {"name": "bob"}, "")),
        ("/users/bob/", frozenset()),
        ("/files/a/b/c.txt", ("/files/{rest:path}", {"rest": "a/b/c.txt"}, "")),
        ("/img/cat.png", ("/img/{name}.{ext}", {"name": "cat", "ext": "png"}, "")),
        ("/api/v1/x", ("mount:/api", {}, "/v1/x")),
        ("/api/", ("mount:/api", {}, "/")),
        ("/api", frozenset()),
        ("/users/42\n", frozenset()),
        ("/users/me\x00", frozenset()),
        ("users/me", frozenset()),
        ("/", ("/", {}, "")),
    ],
)
def test_lookup_table(path: str, expected: Any) -> None:
    entries = [
        route(0, "/"),
        route(1, "/users/me"),
        route(2, "/users/{id:int}"),
        route(3, "/users/{name}"),
        route(4, "/files/{rest:path}"),
        route(5, "/img/{name}.{ext}"),
        mount(6, "/api"),
    ]
    matcher = Matcher(entries)
    assert trie(matcher, "http", path, "GET") == expected
    assert linear(entries, "http", path, "GET") == expected


def test_first_declared_wins_over_more_specific() -> None:
    entries = [route(0, "/users/{name}"), route(1, "/users/me")]
    assert trie(Matcher(entries), "http", "/users/me", "GET")[0] == "/users/{name}"


def test_method_mismatch_collects_every_allowed_method() -> None:
    entries = [
        route(0, "/items", {"POST"}),
        route(1, "/items/{id}", {"GET", "HEAD"}),
        route(2, "/items", {"DELETE"}),
        route(3, "/items", {"GET", "HEAD"}, types=WS),
    ]
    matcher = Matcher(entries)
    assert matcher.lookup("http", "/items", "GET") == frozenset({"POST", "DELETE"})
    found = matcher.lookup("http", "/items", "DELETE")
    assert isinstance(found, Match)
    assert found.entry.index == 2
    assert matcher.lookup("http", "/nothing", "GET") == frozenset()


def test_scope_types_are_kept_apart() -> None:
    entries = [route(0, "/ws", types=WS), route(1, "/ws", {"GET"})]
    matcher = Matcher(entries)
    ws = matcher.lookup("websocket", "/ws", "GET")
    http = matcher.lookup("http", "/ws", "GET")
    assert isinstance(ws, Match)
    assert isinstance(http, Match)
    assert (ws.entry.index, http.entry.index) == (0, 1)


def test_root_mount_takes_everything_after_earlier_routes() -> None:
    entries = [route(0, "/health"), mount(1, "")]
    matcher = Matcher(entries)
    assert trie(matcher, "http", "/health", "GET")[0] == "/health"
    assert trie(matcher, "http", "/anything/else", "POST") == ("mount:", {}, "/anything/else")
    assert trie(matcher, "http", "/", "GET") == ("mount:", {}, "/")


def test_mount_with_params_and_tail() -> None:
    entries = [mount(0, "/users/{uid:int}"), mount(1, "/files/{name}.d")]
    matcher = Matcher(entries)
    assert trie(matcher, "http", "/users/3/posts", "GET") == (
        "mount:/users/{uid:int}",
        {"uid": 3},
        "/posts",
    )
    assert trie(matcher, "http", "/files/x.d/y", "GET") == (
        "mount:/files/{name}.d",
        {"name": "x"},
        "/y",
    )
    assert trie(matcher, "http", "/files/x.d", "GET") == frozenset()


def test_converters_convert() -> None:
    entries = [route(0, "/f/{v:float}"), route(1, "/u/{v:uuid}"), route(2, "/i/{v:int}")]
    matcher = Matcher(entries)
    assert trie(matcher, "http", "/f/1.5", "GET")[1] == {"v": 1.5}
    uid = uuid.uuid4()
    assert trie(matcher, "http", f"/u/{uid}", "GET")[1] == {"v": uid}
    assert trie(matcher, "http", "/i/\u00b2", "GET") == frozenset()  # not an ASCII digit
    assert trie(matcher, "http", "/i/-1", "GET") == frozenset()


@pytest.mark.parametrize(
    ("suffix", "extra", "walks"),
    [("", None, False), ("/tags", None, False), ("", "/{rest:path}", True)],
    ids=["tip", "descent", "full walk"],
)
def test_cost_does_not_depend_on_route_count(suffix: str, extra: str | None, walks: bool) -> None:
    # Counted, not timed: how many entries does a lookup offer to the search, and how many
    # converter checks does it make? A final parameter under static segments is found from the
    # path's head (the tip); one in the middle by the single-branch descent; a path route at the
    # root makes the trie hold a tail there, so the lookup takes the full walk.
    tail = [route(10_000, extra)] if extra else []
    small = Matcher([*(route(i, f"/r{i}/items/{{id}}{suffix}") for i in range(10)), *tail])
    large = Matcher([*(route(i, f"/r{i}/items/{{id}}{suffix}") for i in range(10_000)), *tail])
    assert bool(small._tips) is not walks
    assert small._branch_free is not walks
    offered: list[int] = []
    checks: list[str] = []

    from microasgi._sansio import matcher as _matcher

    original_offer = _matcher._Search.offer
    convertor_class = type(large.entries[0].params[0][1])
    original_matches = convertor_class.matches

    def counting_offer(self: Any, entry: Entry, values: list[str], rest: str) -> None:
        offered.append(entry.index)
        original_offer(self, entry, values, rest)

    def counting_matches(self: Any, text: str) -> bool:
        checks.append(text)
        return original_matches(self, text)

    _matcher._Search.offer = counting_offer  # type: ignore[method-assign]
    convertor_class.matches = counting_matches  # type: ignore[method-assign]
    try:
        assert isinstance(small.lookup("http", f"/r9/items/5{suffix}", "GET"), Match)
        assert isinstance(large.lookup("http", f"/r9999/items/5{suffix}", "GET"), Match)
    finally:
        _matcher._Search.offer = original_offer  # type: ignore[method-assign]
        convertor_class.matches = original_matches  # type: ignore[method-assign]
    assert checks == ["5", "5"]
    import microasgi

    # The compiled build calls _Search.offer directly from C: patching the class counts nothing
    # there (docs/performance.md, "A compiled build"), so the offers are counted when pure.
    if not microasgi.__compiled__:
        assert offered == ([9, 9999] if walks else [])


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("users", "must start with '/'"),
        ("/users/{id:nope}", "Unknown path converter 'nope'"),
        ("/users/{id}/{id}", "Duplicated param name id at path /users/{id}/{id}: "),
        # Starlette's text: every repeated name, sorted, once.
        ("/{n}/{id}/{n}/{id}/{id}", "Duplicated param names id, n at path /{n}/{id}/{n}/{id}/{id}"),
        ("/users/{1x}", "is not an identifier"),
        ("/users/\n", "control character"),
    ],
)
def test_compile_errors(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        compile_path(path)


def test_mount_path_rules() -> None:
    with pytest.raises(ValueError, match="Mount path must start with '/' or be empty"):
        compile_path("api", is_prefix=True)
    assert compile_path("/api/", is_prefix=True).path == "/api"
    assert compile_path("", is_prefix=True).path == ""


def test_compiled_path_shape() -> None:
    compiled = compile_path("/a/{id:int}/{name}.{ext}/{p:path}")
    assert isinstance(compiled, CompiledPath)
    assert compiled.path_format == "/a/{id}/{name}.{ext}/{p}"
    assert list(compiled.param_convertors) == ["id", "name", "ext", "p"]
    assert compiled.steps[0] == "a"
    assert compiled.tail is not None


def test_router_local_convertor() -> None:
    class Hex(Convertor[int]):
        regex = "[0-9a-f]+"

        def convert(self, value: str) -> int:
            return int(value, 16)

        def to_string(self, value: int) -> str:
            return f"{value:x}"

    compiled = compile_path("/c/{v:hex}", {"hex": Hex()})
    matcher = Matcher([Entry(0, compiled, HTTP, None, "hex")])
    assert trie(matcher, "http", "/c/ff", "GET") == ("hex", {"v": 255}, "")
    assert trie(matcher, "http", "/c/zz", "GET") == frozenset()


def test_shadowed_routes_are_reported() -> None:
    entries = [
        route(0, "/users/{name}"),
        route(1, "/users/{id:int}"),  # every int is a str: shadowed
        route(2, "/users/me"),  # one static path: shadowed too
        route(3, "/posts/7"),
        route(4, "/posts/{id:int}"),  # not shadowed: /posts/8 reaches it
        route(5, "/items", {"GET"}),
        route(6, "/items", {"POST"}),  # other method: not shadowed
        mount(7, "/static"),
        route(8, "/static/app.js"),  # under a mount declared first: shadowed
    ]
    pairs = {(later.target, earlier.target) for later, earlier in Matcher(entries).shadowed()}
    assert pairs == {
        ("/users/{id:int}", "/users/{name}"),
        ("/users/me", "/users/{name}"),
        ("/static/app.js", "mount:/static"),
    }


def test_unsampleable_custom_converter_is_never_reported() -> None:
    class Odd(StringConvertor):
        regex = "[13579]"

        def matches(self, text: str) -> bool:
            return text in {"1", "3"}

    compiled = compile_path("/o/{v:odd}", {"odd": Odd()})
    matcher = Matcher([route(0, "/o/{v}"), Entry(1, compiled, HTTP, None, "odd")])
    assert matcher.shadowed() == []


# --- the property: the trie answers exactly as the linear scan ---------------------------------

_PIECES = [
    "a",
    "b",
    "users",
    "7",
    "7.5",
    "x.y",
    "",
    "me",
    "\n",
    "8f0c37a1-0000-4000-8000-000000000001",
]
_TEMPLATE_SEGMENTS = [
    "a",
    "b",
    "users",
    "me",
    "{s}",
    "{i:int}",
    "{f:float}",
    "{p:path}",
    "{n}.{e}",
    "{u:uuid}",
    "",
]


# The segments a trie holds without a tail: tables of these (and no mounts) take the lookup's
# single-branch descent whenever the path selects one branch.
_TRIE_SEGMENTS = [s for s in _TEMPLATE_SEGMENTS if s not in ("{p:path}", "{n}.{e}")]


@st.composite
def route_tables(draw: st.DrawFn, branch_free: bool = False) -> list[Entry]:
    entries = []
    pool = _TRIE_SEGMENTS if branch_free else _TEMPLATE_SEGMENTS
    for index in range(draw(st.integers(1, 8))):
        segments = draw(st.lists(st.sampled_from(pool), max_size=4))
        # Give each parameter a unique name (its position) so templates are valid.
        renamed = [re.sub(r"{([a-z])", rf"{{\g<1>{pos}_", seg) for pos, seg in enumerate(segments)]
        path = "/" + "/".join(renamed)
        if not branch_free and draw(st.booleans()) and not path.endswith("/"):
            entries.append(mount(index, path if path != "/" else ""))
        else:
            methods = draw(st.sampled_from([None, {"GET"}, {"POST"}, {"GET", "POST"}]))
            types = draw(st.sampled_from([HTTP, WS]))
            entries.append(route(index, path, methods, types))
    return entries


@settings(max_examples=300, deadline=None)
@given(
    entries=route_tables(),
    paths=st.lists(st.lists(st.sampled_from(_PIECES), max_size=5), min_size=1, max_size=8),
    method=st.sampled_from(["GET", "POST", "PUT"]),
    scope_type=st.sampled_from(["http", "websocket"]),
)
def test_trie_equals_linear_scan(
    entries: list[Entry], paths: list[list[str]], method: str, scope_type: str
) -> None:
    matcher = Matcher(entries)
    for pieces in paths:
        path = "/" + "/".join(pieces)
        assert trie(matcher, scope_type, path, method) == linear(
            entries, scope_type, path, method
        ), path


@settings(max_examples=300, deadline=None)
@given(
    entries=route_tables(branch_free=True),
    paths=st.lists(st.lists(st.sampled_from(_PIECES), max_size=5), min_size=1, max_size=8),
    method=st.sampled_from(["GET", "POST", "PUT"]),
    scope_type=st.sampled_from(["http", "websocket"]),
)
def test_descent_equals_linear_scan(
    entries: list[Entry], paths: list[list[str]], method: str, scope_type: str
) -> None:
    # Without mounts and tails the lookup descends a single branch when it can (and falls back to
    # the walk where static and parameter children compete): the answer must not change.
    matcher = Matcher(entries)
    assert matcher._branch_free
    for pieces in paths:
        path = "/" + "/".join(pieces)
        assert trie(matcher, scope_type, path, method) == linear(
            entries, scope_type, path, method
        ), path


@pytest.mark.parametrize("path", ["/a}", "/x{", "/{a", "/{a}}", "/b/{id}}"])
def test_a_stray_brace_is_literal_text(path: str) -> None:
    # As in Starlette: the route builds and matches its literal path. (The shadowing check once
    # ran str.format on the template and failed on the brace.)
    matcher = Matcher([route(0, path), route(1, "/other")])
    literal = path.replace("{id}", "7")
    found = matcher.lookup("http", literal, "GET")
    assert isinstance(found, Match)
    assert found.entry.index == 0


_BRANCH_FREE = [
    route(0, "/items/{id:int}", {"POST"}),
    route(1, "/items/{id:int}", None, WS),
    route(2, "/items/{id:int}/tags/{tag}", {"GET"}),
]


@pytest.mark.parametrize(
    ("scope_type", "path", "method", "expected"),
    [
        ("http", "/items/7", "GET", frozenset({"POST"})),  # a 405: the method is elsewhere
        ("http", "/items/7", "POST", ("/items/{id:int}", {"id": 7}, "")),
        ("websocket", "/items/7", "GET", ("/items/{id:int}", {"id": 7}, "")),
        (
            "http",
            "/items/7/tags/red",
            "GET",
            ("/items/{id:int}/tags/{tag}", {"id": 7, "tag": "red"}, ""),
        ),
        ("http", "/items", "GET", frozenset()),  # a node no route ends at
        ("http", "/items/x", "GET", frozenset()),  # the one branch's converter refuses
        ("http", "/other", "GET", frozenset()),
        ("http", "items/7", "GET", frozenset()),  # not a path a server sends
    ],
)
def test_single_branch_descent(scope_type: str, path: str, method: str, expected: object) -> None:
    matcher = Matcher(_BRANCH_FREE)
    assert matcher._branch_free
    assert trie(matcher, scope_type, path, method) == expected
    assert linear(_BRANCH_FREE, scope_type, path, method) == expected


# A final parameter under static segments is found from the path's head ("/users"), without the
# descent or the walk, wherever the walk could not branch before it. Mounts and tails elsewhere
# do not stop that; a second parameter, a mount or a tail on the way does.
_TIPS = [
    route(0, "/users/me"),
    route(1, "/users/{id:int}", {"POST"}),
    route(2, "/users/{id:int}", None, WS),
    route(3, "/a/b/{x:uuid}"),
    route(4, "/files/{rest:path}"),
    mount(5, "/static"),
    route(6, "/docs/{page}"),
    route(7, "/docs/{name}.{ext}"),  # a tail beside the parameter
    route(8, "/p/{q}/{r}"),
    mount(9, "/m/{id}"),  # never offered a path that ends at its parameter
    route(10, "/t/{id}"),
    route(11, "/t/{id}/{name}.{ext}"),  # a tail below the parameter
    route(12, "/two/{id:int}"),
    route(13, "/two/{name}"),  # two parameters: the walk may branch
]


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str] | None:
    """The descents and walks the lookups make from now on; None in the compiled build, whose
    code calls them directly (patching the class counts nothing there)."""
    import microasgi

    if microasgi.__compiled__:
        return None
    calls: list[str] = []
    for name in ("_descend", "_search"):
        original = getattr(Matcher, name)

        def counted(self: Matcher, *args: Any, _name: str = name, _f: Any = original) -> Any:
            calls.append(_name)
            return _f(self, *args)

        monkeypatch.setattr(Matcher, name, counted)
    return calls


@pytest.mark.parametrize(
    ("scope_type", "path", "method", "expected", "from_tip"),
    [
        ("http", "/users/7", "POST", ("/users/{id:int}", {"id": 7}, ""), True),
        ("http", "/users/7", "GET", frozenset({"POST"}), True),  # a 405
        ("websocket", "/users/7", "GET", ("/users/{id:int}", {"id": 7}, ""), True),
        ("http", "/users/x", "GET", frozenset(), True),  # the converter refuses: a dead end
        ("http", "/users/", "GET", frozenset(), True),
        ("http", "/users/me", "GET", ("/users/me", {}, ""), True),  # the static table's
        ("http", "/a/b/8f0c37a1-0000-4000-8000-000000000001", "GET", None, True),
        ("http", "/a/b/c/8f0c37a1-0000-4000-8000-000000000001", "GET", frozenset(), False),
        ("http", "/p/1", "GET", frozenset(), True),  # no route ends there
        ("http", "/m/1", "GET", frozenset(), True),
        ("http", "/files/a", "GET", ("/files/{rest:path}", {"rest": "a"}, ""), False),
        ("http", "/static/x", "GET", ("mount:/static", {}, "/x"), False),
        ("http", "/docs/intro", "GET", ("/docs/{page}", {"page": "intro"}, ""), False),
        ("http", "/p/1/2", "GET", ("/p/{q}/{r}", {"q": "1", "r": "2"}, ""), False),
        ("http", "/m/1/x", "GET", ("mount:/m/{id}", {"id": "1"}, "/x"), False),
        ("http", "/t/1", "GET", ("/t/{id}", {"id": "1"}, ""), False),
        ("http", "/two/7", "GET", ("/two/{id:int}", {"id": 7}, ""), False),
        ("http", "users/7", "POST", frozenset(), False),  # not a path a server sends
    ],
)
def test_final_parameter_found_from_the_head(
    monkeypatch: pytest.MonkeyPatch,
    scope_type: str,
    path: str,
    method: str,
    expected: object,
    from_tip: bool,
) -> None:
    matcher = Matcher(_TIPS)
    assert set(matcher._tips) == {"/users", "/a/b", "/p", "/m"}
    calls = _counting(monkeypatch)
    found = trie(matcher, scope_type, path, method)
    assert found == linear(_TIPS, scope_type, path, method)
    if expected is not None:
        assert found == expected
    # The tips' answers cost neither a descent nor a walk (the cost of "/users/{id}" is one dict
    # lookup on "/users", not a split and a walk); the others still take them.
    assert calls is None or (calls == []) is from_tip, calls


@pytest.mark.parametrize(
    ("path", "expected", "calls"),
    [
        ("/x", ("/{top}", {"top": "x"}, ""), []),
        # "a" is a static child of the tip too: the walk branches there, so it decides.
        ("/a", ("/a", {}, ""), ["_descend", "_search"]),
        ("x", frozenset(), ["_descend"]),
    ],
)
def test_the_root_is_a_tip(
    monkeypatch: pytest.MonkeyPatch, path: str, expected: object, calls: list[str]
) -> None:
    entries = [route(0, "/a"), route(1, "/{top}")]
    matcher = Matcher(entries)
    assert set(matcher._tips) == {""}
    made = _counting(monkeypatch)
    assert trie(matcher, "http", path, "GET") == expected == linear(entries, "http", path, "GET")
    assert made is None or made == calls
