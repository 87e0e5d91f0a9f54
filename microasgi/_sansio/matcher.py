"""The compiled route matcher: a segment trie whose answer equals a linear scan's.

Sans-I/O: paths in, entries out. Routes are compiled once into a trie keyed by path segment:

- a **static** segment is a dict lookup,
- a segment that is exactly one parameter (``{id}``, ``{id:int}``) is a converter check,
- anything a trie cannot express (a ``{p:path}`` converter, a segment mixing text and parameters
  such as ``{name}.{ext}``) becomes a **tail**: one regex for the rest of the path, kept at the
  deepest node its static prefix reaches,
- a **mount** ends at a node and matches whatever follows, from the next ``/`` on.

The lookup walks only the branches the request's segments select, so its cost follows the path's
shape, not the number of routes. Among the entries that match, the one declared first wins, exactly
as a linear scan over the route list would decide: every node knows the smallest declaration index
below it, and the walk skips subtrees that cannot beat the best match found so far.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from microasgi._sansio.paths import _CONTROL, CompiledPath, too_long
from microasgi.convertors import (
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    UUIDConvertor,
)

_NO_VALUES: list[str] = []  # shared and never mutated: the values of a match without parameters
_NO_PARAMS: dict[str, Any] = {}  # shared and never mutated: the params of a static match


@dataclass(slots=True, eq=False)
class Entry:
    """One declared route, as the matcher sees it.

    Attributes:
        index: its position in the declared list; the smallest matching index wins.
        compiled: its path template.
        scope_types: the scope types it serves (``{"http"}``, ``{"websocket"}``, or both).
        methods: the HTTP methods it accepts, or ``None`` for any.
        target: whatever the caller attached (the route object).
    """

    index: int
    compiled: CompiledPath
    scope_types: frozenset[str]
    methods: frozenset[str] | None
    target: Any
    is_mount: bool = False
    params: tuple[tuple[str, Convertor[Any]], ...] = field(init=False)

    def __post_init__(self) -> None:
        self.params = tuple(self.compiled.param_convertors.items())


@dataclass(slots=True)
class Match:
    """The winner of a lookup.

    Attributes:
        entry: the entry that matched.
        params: the converted path parameters.
        rest: for a mount, the path that follows its prefix (starting with ``/``); else ``""``.
    """

    entry: Entry
    params: dict[str, Any]
    rest: str


@dataclass(slots=True)
class _Node:
    static: dict[str, _Node] = field(default_factory=dict)
    params: list[tuple[Convertor[Any], _Node]] = field(default_factory=list)
    routes: list[Entry] = field(default_factory=list)
    mounts: list[Entry] = field(default_factory=list)
    tails: list[Entry] = field(default_factory=list)
    min_index: int = 1 << 62


# Where the descent leads on a dead end: a node no route ends at (shared and never mutated).
_DEAD_END: tuple[_Node, list[str]] = (_Node(), _NO_VALUES)


class _Search:
    """The state of one lookup: the best entry so far and, failing that, the allowed methods."""

    __slots__ = (
        "allowed",
        "best",
        "best_index",
        "best_rest",
        "best_values",
        "method",
        "scope_type",
    )

    def __init__(self, scope_type: str, method: str) -> None:
        self.scope_type = scope_type
        self.method = method
        self.best: Entry | None = None
        self.best_index = 1 << 62
        self.best_values: list[str] = _NO_VALUES
        self.best_rest = ""
        # PERF: created only for a path that matches with another method (a 405 in the making).
        self.allowed: set[str] | None = None

    def offer(self, entry: Entry, values: list[str], rest: str) -> None:
        if entry.index >= self.best_index or self.scope_type not in entry.scope_types:
            return
        methods = entry.methods
        if methods is None or self.method in methods:
            self.best, self.best_index = entry, entry.index
            self.best_values, self.best_rest = list(values) if values else _NO_VALUES, rest
        elif self.allowed is None:
            self.allowed = set(methods)
        else:
            self.allowed.update(methods)


class _Collect(_Search):
    """A search that never prunes: it records every entry matching a path, whatever the method."""

    __slots__ = ("found",)

    def __init__(self) -> None:
        super().__init__("", "")
        self.found: list[Entry] = []

    def offer(self, entry: Entry, values: list[str], rest: str) -> None:
        self.found.append(entry)


class Matcher:
    """Routes compiled into a segment trie. Build once; call ``lookup`` per request."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = sorted(entries, key=lambda e: e.index)
        self._root = _Node()
        for entry in self.entries:
            self._insert(entry)
        self._sort(self._root)
        # PERF: without mounts and tails, most lookups follow a single branch (see _descend).
        self._branch_free = not any(
            entry.is_mount or entry.compiled.tail is not None for entry in self.entries
        )
        # PERF: a path whose one parameter is its last segment, under static segments (the
        # common "/users/{id}"), reaches that parameter's node by one dict lookup on its head
        # ("/users"): no split, no descent (see _index_tips for when the walk could not branch).
        self._tips: dict[str, _Node] = {}
        self._index_tips(self._root, "")
        # PERF: a path that only static routes can match (the common "/", "/health", "/json")
        # is answered by one dict lookup. A path some parameter, tail or mount could also match
        # is left to the walk, so the first-declared-wins answer is the same either way.
        # Each entry comes with its answer, built once: a static match has no parameters, and
        # callers only read a Match (its shared empty params must never be written to).
        self._static: dict[str, tuple[tuple[Entry, Match], ...]] = {}
        for entry in self.entries:
            path = entry.compiled.path
            if _is_static(entry) and path not in self._static:
                collect = _Collect()
                self._walk(self._root, path.split("/"), 1, [], collect)
                if all(_is_static(other) for other in collect.found):
                    found = sorted(collect.found, key=lambda e: e.index)
                    self._static[path] = tuple((e, Match(e, _NO_PARAMS, "")) for e in found)

    def _insert(self, entry: Entry) -> None:
        node = self._root
        node.min_index = min(node.min_index, entry.index)
        for step in entry.compiled.steps:
            if isinstance(step, str):
                node = node.static.setdefault(step, _Node())
            else:
                convertor = step[1]
                for known, child in node.params:
                    if known is convertor:
                        node = child
                        break
                else:
                    child = _Node()
                    node.params.append((convertor, child))
                    node = child
            node.min_index = min(node.min_index, entry.index)
        if entry.compiled.tail is not None:
            node.tails.append(entry)
        elif entry.is_mount:
            node.mounts.append(entry)
        else:
            node.routes.append(entry)

    def _index_tips(self, node: _Node, head: str) -> None:
        """Index the nodes that static segments alone reach and whose only way on is one
        parameter, by their path (``"/users"``). Nothing before that parameter may offer another
        answer (a parameter, a mount, a tail), so the walk of ``head + "/" + last`` takes a
        single branch whenever ``last`` is no static child of the tip.
        """
        if node.mounts or node.tails:
            return
        if node.params:
            if len(node.params) == 1 and not node.params[0][1].tails:
                self._tips[head] = node
            return
        for segment, child in node.static.items():
            self._index_tips(child, head + "/" + segment)

    def _sort(self, node: _Node) -> None:
        # PERF: visiting the most promising parameter branch first lets the walk prune the rest.
        node.params.sort(key=lambda pair: pair[1].min_index)
        for child in node.static.values():
            self._sort(child)
        for _, child in node.params:
            self._sort(child)

    def lookup(self, scope_type: str, path: str, method: str = "GET") -> Match | frozenset[str]:
        """Find the first declared entry matching ``path``.

        Returns the ``Match``, or else the set of methods that entries matching the path accept
        (empty when no entry matches the path at all: a 404, otherwise a 405).
        """
        static = self._static.get(path)
        if static is not None:
            for entry, match in static:
                methods = entry.methods
                if scope_type in entry.scope_types and (methods is None or method in methods):
                    return match
            return _allowed([entry for entry, _ in static], scope_type)
        # PERF: printable text, the common case, cannot hold a control character.
        if not path.isprintable() and _CONTROL.search(path):
            return frozenset()
        head, slash, last = path.rpartition("/")
        tip = self._tips.get(head)
        if tip is not None and slash and last not in tip.static:
            # A final parameter under static segments (see _index_tips): its node at once.
            convertor, node = tip.params[0]
            if not convertor.matches(last):
                return frozenset()  # a dead end, with nowhere else to go
            values = [last]
        else:
            segments = path.split("/")
            reached = self._descend(segments) if self._branch_free else None
            if reached is None:
                return self._search(scope_type, method, segments)
            node, values = reached
        # The entries that match the path all end at this node: the first declared there that
        # takes the request wins, as in the full walk.
        for entry in node.routes:
            methods = entry.methods
            if scope_type in entry.scope_types and (methods is None or method in methods):
                # PERF: _params, inlined (a call costs as much as converting a parameter).
                converted: dict[str, Any] = {}
                i = 0
                for name, convertor in entry.params:
                    converted[name] = convertor.convert(values[i])
                    i += 1
                return Match(entry, converted, "")
        return _allowed(node.routes, scope_type)

    def _descend(self, segments: list[str]) -> tuple[_Node, list[str]] | None:
        """The node the segments lead to and the parameter values on the way, when they select
        one branch of the trie; None when the walk would branch.

        Only for a trie without mounts or tails (``_branch_free``): then the entries that match
        a path all end at the one node its segments lead to. A node offering the segment both a
        static child and a parameter, or several parameters, makes the walk branch: None. A dead
        end leads to an empty node.
        """
        if segments[0] != "":
            return _DEAD_END
        node = self._root
        values: list[str] = []
        for i in range(1, len(segments)):
            segment = segments[i]
            child = node.static.get(segment)
            params = node.params
            if params:
                if child is not None or len(params) > 1:
                    return None  # the walk would branch here
                convertor, child = params[0]
                if not convertor.matches(segment):
                    return _DEAD_END  # with nowhere else to go
                values.append(segment)
            elif child is None:
                return _DEAD_END
            node = child
        return node, values

    def _search(self, scope_type: str, method: str, segments: list[str]) -> Match | frozenset[str]:
        """The full walk: every branch the segments select, pruned by declaration order."""
        search = _Search(scope_type, method)
        if segments[0] == "":  # a path from a server always starts with "/"
            self._walk(self._root, segments, 1, [], search)
        best = search.best
        if best is None:
            return frozenset(search.allowed or ())
        return Match(
            best, self._params(best, search.best_values, search.best_rest), search.best_rest
        )

    def _walk(
        self, node: _Node, segments: list[str], i: int, values: list[str], search: _Search
    ) -> None:
        # PERF: the emptiness checks skip loop set-up; most nodes hold one kind of child only.
        end = len(segments)
        if i == end:
            for entry in node.routes:
                search.offer(entry, values, "")
        else:
            if node.mounts:
                for entry in node.mounts:
                    search.offer(entry, values, "/" + "/".join(segments[i:]))
            segment = segments[i]
            if node.static:
                child = node.static.get(segment)
                if child is not None and child.min_index < search.best_index:
                    self._walk(child, segments, i + 1, values, search)
            for convertor, child in node.params:
                if child.min_index >= search.best_index:
                    break  # sorted by min_index: no later branch can win either
                if convertor.matches(segment):
                    values.append(segment)
                    self._walk(child, segments, i + 1, values, search)
                    values.pop()
        if node.tails:
            self._walk_tails(node, segments, i, values, search)

    def _walk_tails(
        self, node: _Node, segments: list[str], i: int, values: list[str], search: _Search
    ) -> None:
        for entry in node.tails:
            if entry.index < search.best_index:
                rest = "/" + "/".join(segments[i:]) if i < len(segments) else ""
                if too_long(entry.compiled, segments):
                    continue
                match = entry.compiled.tail.fullmatch(rest)  # type: ignore[union-attr]
                if match is not None and self._tail_ok(entry, match):
                    groups = match.groupdict()
                    mount_rest = groups.pop("_mount_rest", None) or ""
                    search.offer(entry, [*values, *groups.values()], mount_rest)

    @staticmethod
    def _tail_ok(entry: Entry, match: re.Match[str]) -> bool:
        # The tail regex uses each converter's own regex; custom matchers may be stricter.
        convertors = entry.compiled.param_convertors
        return all(
            convertors[name].matches(value)
            for name, value in match.groupdict().items()
            if name != "_mount_rest"
        )

    @staticmethod
    def _params(entry: Entry, values: list[str], rest: str) -> dict[str, Any]:
        # PERF: a plain indexed loop: a comprehension is a call of its own before Python 3.12,
        # and zip(strict=True) costs twice as much as the loop. Every entry's parameters each
        # have exactly one value here.
        params: dict[str, Any] = {}
        i = 0
        for name, convertor in entry.params:
            params[name] = convertor.convert(values[i])
            i += 1
        return params

    def shadowed(self) -> list[tuple[Entry, Entry]]:
        """Pairs ``(later, earlier)`` where ``earlier`` answers every request ``later`` could.

        Found by probing each entry with two sample paths built from its template (different
        sample values per parameter) for each of its methods: when both land on the same earlier
        entry, the later one can never run. A static earlier route covering one sample value only
        cannot shadow, since the second sample differs.
        """
        pairs = []
        for entry in self.entries:
            methods = sorted(entry.methods) if entry.methods is not None else ["GET"]
            winners: set[Entry | None] = set()
            for sample in (0, 1):
                path = _sample_path(entry, sample)
                if path is None:
                    winners.add(None)
                    continue
                for scope_type in entry.scope_types:
                    for method in methods:
                        found = self.lookup(scope_type, path, method)
                        winners.add(found.entry if isinstance(found, Match) else None)
            if len(winners) == 1:
                (winner,) = winners
                if winner is not None and winner is not entry:
                    pairs.append((entry, winner))
        return pairs


def _allowed(entries: Iterable[Entry], scope_type: str) -> frozenset[str]:
    """The methods these entries take for ``scope_type``: a 405's ``Allow``, empty for a 404."""
    allowed: set[str] = set()
    for entry in entries:
        if scope_type in entry.scope_types:
            allowed.update(entry.methods or ())
    return frozenset(allowed)


def _is_static(entry: Entry) -> bool:
    """Whether the entry matches exactly one path, its template (no parameter, tail or mount)."""
    compiled = entry.compiled
    return not entry.is_mount and compiled.tail is None and not compiled.param_convertors


_SAMPLES: tuple[tuple[type[Convertor[Any]], tuple[str, str]], ...] = (
    (IntegerConvertor, ("7", "8")),
    (FloatConvertor, ("7.5", "8")),
    (
        UUIDConvertor,
        ("8f0c37a1-0000-4000-8000-000000000001", "8f0c37a1-0000-4000-8000-000000000002"),
    ),
    (PathConvertor, ("sample-a", "sample-b/c")),
    (Convertor, ("sample-a", "sample-b")),
)


def _sample_path(entry: Entry, sample: int) -> str | None:
    """A path the entry matches, with sample parameter values (number ``sample`` of two).

    ``None`` when a custom converter accepts neither sample: such an entry is never reported.
    """
    values = {}
    for name, convertor in entry.compiled.param_convertors.items():
        value = next(pair[sample] for kind, pair in _SAMPLES if isinstance(convertor, kind))
        if not convertor.matches(value):
            return None
        values[name] = value
    # Filled by replacement, not str.format: a stray brace is literal text in a route path (as in
    # Starlette), and format() would refuse it.
    path = entry.compiled.path_format
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path + "/sample" if entry.is_mount else path
