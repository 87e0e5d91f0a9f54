"""Fuzz ``parse_options_header`` (``Content-Type`` and friends): only ``MalformedHeaderError``."""

from __future__ import annotations

from _harness import instrumented, run, text

with instrumented():
    from microasgi._sansio.options import MalformedHeaderError, parse_options_header


def test_one(data: bytes) -> None:
    require_subtype = bool(data[:1]) and data[0] & 1 == 1
    try:
        kind, options = parse_options_header(text(data[1:]), require_subtype=require_subtype)
    except MalformedHeaderError:
        return
    if kind != kind.lower():
        raise AssertionError(f"media type {kind!r} not lowercased")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in options.items()):
        raise AssertionError(f"non-str option in {options!r}")


if __name__ == "__main__":
    run(test_one)
