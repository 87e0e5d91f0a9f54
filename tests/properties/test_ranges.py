"""Properties of the ``Range`` parser: ``microasgi._sansio.ranges.parse_range`` and its output helpers.

Documented error: none. ``parse_range`` is total: ``None`` (ignore the field, send everything),
``[]`` (416) or the ranges to send.

Also: tests/sansio/test_ranges.py::test_merged_ranges_are_sorted_disjoint_and_cover_the_request
(``first-last`` lists: sorted, merged, covering exactly the bytes asked for),
::test_any_field_parses_without_error (any text, with and without ``bytes=``) and
::test_hostile_repetitions_stay_linear (a 200 KB field of any repeated grammar fragment
stays under a second).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi._sansio.ranges import content_range, multipart_layout, parse_range

from ._linear import assert_linear

Spec = tuple[int | None, int | None]  # (first, last): (a, b) "a-b", (a, None) "a-", (None, n) "-n"

specs = st.one_of(
    st.tuples(st.integers(0, 300), st.integers(0, 300)).map(lambda p: (min(p), max(p))),
    st.tuples(st.integers(0, 300), st.none()),
    st.tuples(st.none(), st.integers(0, 300)),
)


def _text(spec: Spec) -> str:
    first, last = spec
    return f"{'' if first is None else first}-{'' if last is None else last}"


def _slice(spec: Spec, size: int) -> range:
    """What Python slicing of the representation selects for one range-spec (the reference)."""
    first, last = spec
    if first is None:
        assert last is not None
        return range(size)[-last:] if last else range(0)
    return range(size)[first : None if last is None else last + 1]


@settings(max_examples=120, deadline=None)
@given(st.lists(specs, min_size=1, max_size=12), st.integers(0, 200))
def test_ranges_select_what_python_slicing_selects(specs: list[Spec], size: int) -> None:
    """Reference: the bytes sent are the union of the Python slices ``data[a:b+1]``,
    ``data[a:]`` and ``data[-n:]`` the specs name; ``[]`` (416) exactly when that is empty."""
    ranges = parse_range("bytes=" + ",".join(map(_text, specs)), size)
    assert ranges is not None
    wanted = {position for spec in specs for position in _slice(spec, size)}
    assert {p for start, stop in ranges for p in range(start, stop)} == wanted
    assert (ranges == []) == (not wanted)


@settings(max_examples=60, deadline=None)
@given(st.lists(specs, min_size=1, max_size=8), st.integers(0, 200), st.data())
def test_case_and_whitespace_do_not_matter(
    specs: list[Spec], size: int, data: st.DataObject
) -> None:
    """The unit is case-insensitive and whitespace around elements (and empty elements) is
    ignored (RFC 9110 sections 14.1 and 5.6.1)."""
    canonical = parse_range("bytes=" + ",".join(map(_text, specs)), size)
    unit = data.draw(st.sampled_from(["bytes", "BYTES", "Bytes", " bytes", "bytes\t"]))
    pad = st.sampled_from(["", " ", "\t", " \t "])
    elements = [data.draw(pad) + _text(spec) + data.draw(pad) for spec in specs]
    extra = data.draw(st.sampled_from(["", ",", ", ,"]))
    assert parse_range(f"{unit}={','.join(elements)}{extra}", size) == canonical


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 10**15), st.data())
def test_content_range_reads_back_as_the_same_range(size: int, data: st.DataObject) -> None:
    """Round trip: the ``Content-Range`` we send for a range, read back as a ``Range`` (as a
    resuming client does), names the same range."""
    start = data.draw(st.integers(0, size - 1))
    stop = data.draw(st.integers(start + 1, size))
    unit, _, rest = content_range(start, stop, size).partition(" ")
    positions, _, total = rest.partition("/")
    assert (unit, int(total)) == ("bytes", size)
    assert parse_range(f"{unit}={positions}", size) == [(start, stop)]


@settings(max_examples=60, deadline=None)
@given(st.lists(specs, min_size=1, max_size=8), st.integers(1, 200))
def test_multipart_layout_length_is_the_body_length(specs: list[Spec], size: int) -> None:
    """The ``Content-Length`` of a ``multipart/byteranges`` body is the length of the body the
    layout describes, and each part's header names its range."""
    ranges = parse_range("bytes=" + ",".join(map(_text, specs)), size)
    if not ranges:
        return
    heads, closing, length = multipart_layout(ranges, size, "BOUNDARY", "text/plain")
    data = bytes(range(256)) * (size // 256 + 1)
    body = b"".join(
        head + data[start:stop] for head, (start, stop) in zip(heads, ranges, strict=True)
    )
    assert len(body + closing) == length
    for head, (start, stop) in zip(heads, ranges, strict=True):
        assert f"Content-Range: {content_range(start, stop, size)}\r\n".encode() in head


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30))
def test_more_elements_than_the_cap_are_ignored_whole(count: int, cap: int) -> None:
    """CWE-400: more than ``max_ranges`` elements (empty ones included) is ignored as a whole
    (send everything), never partly served; up to the cap they are all honoured."""
    field = "bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(count))
    ranges = parse_range(field, 1000, max_ranges=cap)
    assert ranges == (None if count > cap else [(2 * i, 2 * i + 1) for i in range(count)])


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda n: "bytes=" + "0-0," * n, id="thousands-of-ranges"),
        pytest.param(
            lambda n: "bytes=" + ",".join(f"{n - i}-{n - i}" for i in range(n)), id="reversed"
        ),
        pytest.param(lambda n: "bytes=" + "0-1000000," * n, id="overlapping"),
        pytest.param(lambda n: "bytes=" + "," * n, id="commas"),
        pytest.param(lambda n: "bytes=" + "-" * n, id="dashes"),
        pytest.param(lambda n: "bytes=" + "0" * n + "-", id="zeros"),
        pytest.param(lambda n: "bytes=1-" + "9" * n, id="digits"),
        pytest.param(lambda n: "bytes" + "=" * n, id="equals"),
        pytest.param(lambda n: "bytes=" + " \t" * n + "0-1", id="whitespace"),
    ],
)
def test_hostile_fields_stay_linear(build: Callable[[int], str]) -> None:
    """CWE-400 / CWE-407: thousands of ranges (the cap lifted, to measure the parser itself),
    unsorted or overlapping ones, and floods of separators or digits cost linear time."""
    assert_linear(build, lambda field: parse_range(field, 10**12, max_ranges=10**9), 1_000)
