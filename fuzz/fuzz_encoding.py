"""Fuzz ``Accept-Encoding`` parsing and selection: nothing raises; the choice is offered."""

from __future__ import annotations

from _harness import instrumented, run, text

with instrumented():
    from microasgi._sansio.encoding import parse_accept_encoding, select_encoding

AVAILABLE = ("zstd", "br", "gzip")


def test_one(data: bytes) -> None:
    value = text(data)
    weights = parse_accept_encoding(value)
    if not all(0.0 <= q <= 1.0 for q in weights.values()):
        raise AssertionError(f"q out of range in {dict(weights)!r}")
    chosen = select_encoding(value, AVAILABLE)
    if chosen is not None and chosen not in AVAILABLE:
        raise AssertionError(f"{chosen!r} was not offered")


if __name__ == "__main__":
    run(test_one)
