"""Sans-I/O tests of microasgi._sansio.accept: does an ``Accept`` field accept a media type?"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microasgi._sansio.accept import accepts


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/html", True),
        ("text/html;level=1", True),  # media type parameters are no weight
        ("text/html;level=1;q=0", False),
        ("text/html;q=0;level=1", False),
        ("text/html ; Q=0.001", True),
        ("text/*", True),
        ("*/*", True),
        ("image/*, */*;q=0.1", True),
        ("application/json", False),
        ("text/plain, image/png", False),
        ("text/html;q=0", False),
        ("*/*, text/html;q=0", False),
        ("text/*;q=0, */*", False),
        ("text/html;q=0.5, */*;q=0", True),
        ("text/html, text/html;q=0", False),  # a repetition never overrides a refusal
        ("text/html;q=0, text/html", False),
        ("text/html;q=2", False),  # invalid weight: the element is ignored
        ("html", False),
        ("", False),
        (",,", False),
        ("*/html", False),
        ("x" * 2000 + ", text/html", False),  # judged on its first part only
    ],
)
def test_accepts_html(value: str, expected: bool) -> None:
    assert accepts(value, "text/html") is expected


@given(st.text(max_size=200))
def test_any_value_is_safe(value: str) -> None:
    assert accepts(value, "text/html") in (True, False)
