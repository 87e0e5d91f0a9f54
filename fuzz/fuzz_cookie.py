"""Fuzz ``parse_cookie_header``: any ``Cookie`` value parses to a dict of str; nothing raises."""

from __future__ import annotations

from _harness import instrumented, run, text

with instrumented():
    from microasgi._sansio.cookies import parse_cookie_header


def test_one(data: bytes) -> None:
    cookies = parse_cookie_header(text(data))
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in cookies.items()):
        raise AssertionError(f"non-str cookie in {cookies!r}")


if __name__ == "__main__":
    run(test_one)
