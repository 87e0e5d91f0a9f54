"""Fuzz ``parse_host`` (the ``Host`` header): nothing raises; an accepted host is bounded and
holds no character that could move a URL's authority."""

from __future__ import annotations

from _harness import instrumented, run, text

with instrumented():
    from microasgi._sansio.hosts import MAX_HOST_LENGTH, parse_host


def test_one(data: bytes) -> None:
    value = text(data)
    host = parse_host(value)
    if host is None:
        return
    if len(value) > MAX_HOST_LENGTH:
        raise AssertionError(f"accepted a host of {len(value)} characters")
    if any(c in host.name for c in "/\\@?#% \r\n\t"):
        raise AssertionError(f"accepted {host!r} from {value!r}")
    if host.port is not None and not 0 <= host.port <= 65535:
        raise AssertionError(f"port out of range in {host!r}")


if __name__ == "__main__":
    run(test_one)
