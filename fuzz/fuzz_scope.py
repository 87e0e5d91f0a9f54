"""Fuzz URL building from a scope: nothing raises, and whatever the path and root_path hold the URL's
authority is the ``Host`` header's or the server's (a path cannot move it)."""

from __future__ import annotations

from urllib.parse import urlsplit

from _harness import instrumented, provider, run

with instrumented():
    from microasgi._sansio.scope import encoded_full_path, full_path, route_path, url_string


def test_one(data: bytes) -> None:
    fdp = provider(data)
    host = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 40))
    # Any text: a path without its leading "/" ("@evil.com") must not move the authority either.
    path = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 100))
    scope = {
        "type": "http",
        "scheme": "https" if fdp.ConsumeBool() else "http",
        "path": path,
        "raw_path": fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 100)) if fdp.ConsumeBool() else None,
        "root_path": fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 20)),
        "query_string": fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 50)),
        "headers": [(b"host", host)],
        "server": ("server.test", 8080),
    }
    full_path(scope)
    route_path(scope)
    encoded_full_path(scope)
    url = url_string(scope)
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        raise AssertionError(f"unparsable URL {url!r}") from None
    # The authority is the Host header as sent (when valid) or the server address, never a
    # piece of the path or query.
    if netloc not in {host.decode("latin-1"), "server.test:8080"}:
        raise AssertionError(f"URL {url!r} has authority {netloc!r} for Host {host!r}")


if __name__ == "__main__":
    run(test_one)
