"""Fuzz ``Range`` and the conditional headers: nothing raises; ranges stay inside the file."""

from __future__ import annotations

from _harness import instrumented, provider, run, text

with instrumented():
    from microasgi._sansio.ranges import (
        MAX_RANGES,
        RequestConditions,
        evaluate_preconditions,
        if_range_holds,
        parse_http_date,
        parse_range,
        select_ranges,
    )

ETAG = '"abc"'
LAST_MODIFIED = 1_700_000_000


def test_one(data: bytes) -> None:
    fdp = provider(data)
    size = fdp.ConsumeIntInRange(0, 1 << 40)
    names = [b"if-match", b"if-none-match", b"if-modified-since", b"if-unmodified-since",
             b"if-range", b"range"]  # fmt: skip
    headers = [(name, fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 300))) for name in names]
    field = text(headers[-1][1])
    ranges = parse_range(field, size)
    if ranges is not None:
        if len(ranges) > MAX_RANGES:
            raise AssertionError(f"{len(ranges)} ranges from {field!r}")
        for start, stop in ranges:
            if not 0 <= start < stop <= size:
                raise AssertionError(f"range {start}-{stop} outside {size} from {field!r}")
    parse_http_date(text(headers[2][1]))
    conditions = RequestConditions.from_headers(headers)
    evaluate_preconditions(conditions, "GET", ETAG, LAST_MODIFIED)
    if_range_holds(text(headers[4][1]), ETAG, LAST_MODIFIED)
    select_ranges(conditions, ETAG, LAST_MODIFIED, size)


if __name__ == "__main__":
    run(test_one)
