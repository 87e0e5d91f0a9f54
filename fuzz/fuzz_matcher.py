"""Fuzz route compiling and matching: ``compile_path`` raises only ``ValueError``; a lookup of
any path against the compiled routes never raises."""

from __future__ import annotations

from _harness import instrumented, provider, run

with instrumented():
    from microasgi._sansio.matcher import Entry, Matcher
    from microasgi._sansio.paths import compile_path

FIXED = ["/", "/users/{id:int}", "/files/{rest:path}", "/f/{x:float}", "/u/{u:uuid}", "/{a}/{b}"]


def test_one(data: bytes) -> None:
    fdp = provider(data)
    template = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 80))
    entries = [
        Entry(i, compile_path(path), frozenset({"http"}), frozenset({"GET"}), path)
        for i, path in enumerate(FIXED)
    ]
    try:
        compiled = compile_path(template, is_prefix=fdp.ConsumeBool())
    except ValueError:
        compiled = None
    if compiled is not None:
        entries.append(Entry(len(entries), compiled, frozenset({"http"}), None, template, True))
    matcher = Matcher(entries)
    path = fdp.ConsumeUnicodeNoSurrogates(200)
    matcher.lookup("http", path, "GET")
    matcher.lookup("http", "/" + path, "POST")
    matcher.lookup("websocket", path)


if __name__ == "__main__":
    run(test_one)
