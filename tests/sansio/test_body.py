"""What a body tells before parsing: microasgi._sansio.body (JSON nesting; Content-Length is tested
through its users)."""

from __future__ import annotations

import pytest

from microasgi._sansio.body import json_nesting_exceeds


@pytest.mark.parametrize(
    ("body", "limit", "exceeds"),
    [
        (b"[" * 3 + b"]" * 3, 3, False),
        (b"[" * 4 + b"]" * 4, 3, True),
        (b'{"a": {"b": {"c": [1]}}}', 3, True),
        (b'{"a": {"b": {"c": [1]}}}', 4, False),
        (b'["[[[[[[", "{{{{{{"]', 2, False),  # brackets inside strings do not count
        (b'["\\"[[[[", [1], [2], [3]]', 2, False),  # nor after an escaped quote
        (b"[1, 2, 3, [4], [5], [6], [7]]", 2, False),  # many brackets, shallow
        (b"]]]][[[", 2, False),  # malformed: json.loads refuses it; depth never passes 2
    ],
)
def test_json_nesting_exceeds(body: bytes, limit: int, exceeds: bool) -> None:
    assert json_nesting_exceeds(body, limit) is exceeds
