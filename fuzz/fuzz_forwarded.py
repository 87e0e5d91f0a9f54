"""Fuzz ``Forwarded`` and ``X-Forwarded-*`` parsing: nothing raises; hops stay bounded."""

from __future__ import annotations

from _harness import instrumented, run, text

with instrumented():
    from microasgi._sansio.forwarded import (
        MAX_HOPS,
        client_index,
        parse_forwarded,
        parse_node,
        split_list,
    )


def test_one(data: bytes) -> None:
    value = text(data)
    elements = parse_forwarded(value)
    items = split_list(value)
    if len(elements) > MAX_HOPS or len(items) > MAX_HOPS:
        raise AssertionError(f"{len(elements)}/{len(items)} hops from {value!r}")
    hops = [parse_node(item) for item in items]
    index = client_index(hops, lambda address: address.startswith("10."))
    if not -1 <= index < max(len(hops), 1):
        raise AssertionError(f"client index {index} of {len(hops)} hops")


if __name__ == "__main__":
    run(test_one)
