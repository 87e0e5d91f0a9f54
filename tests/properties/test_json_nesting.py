"""Properties of the JSON nesting pre-scan: ``microasgi._sansio.body.json_nesting_exceeds``, which
``Request.json()`` runs before ``json.loads`` so that ``[[[[...`` is refused with 400 however deep
the interpreter would let the parser recurse.

Documented error: none. The scan is total: any bytes give a bool.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microasgi._sansio.body import json_nesting_exceeds

from ._linear import assert_linear

# Strings full of the characters the scan must see through: brackets, quotes and escapes.
_TRICKY_TEXT = st.text(st.sampled_from('[]{}"\\/ab\n\u00e9\U0001f600'), max_size=8)
documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TRICKY_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_TRICKY_TEXT, children, max_size=3)
    ),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    """The reference: how deeply arrays and objects nest in the decoded document."""
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@settings(max_examples=120, deadline=None)
@given(documents, st.integers(0, 8), st.booleans(), st.booleans())
def test_the_scan_agrees_with_the_decoded_depth(
    document: Any, limit: int, ascii_only: bool, indent: bool
) -> None:
    """Reference: for any JSON document (strings holding brackets, quotes and escapes, with or
    without ``\\u`` escapes and whitespace), the scan says "too deep" exactly when the decoded
    document nests deeper than the limit."""
    body = json.dumps(document, ensure_ascii=ascii_only, indent=2 if indent else None).encode()
    assert json_nesting_exceeds(body, limit) is (_depth(document) > limit)


@settings(max_examples=120, deadline=None)
@given(st.binary(max_size=80) | st.text(st.sampled_from('[]{}"\\ a'), max_size=80).map(str.encode))
def test_any_bytes_give_a_verdict(body: bytes) -> None:
    """Totality: any bytes (not JSON, unbalanced, unterminated strings) give a bool; a body
    with no more brackets than the limit is never too deep."""
    brackets = body.count(b"[") + body.count(b"{")
    assert json_nesting_exceeds(body, brackets) is False
    assert json_nesting_exceeds(body, 0) in (True, False)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda n: b"[" * n, id="open-brackets"),
        pytest.param(lambda n: b"[" * n + b"]" * n, id="nested"),
        pytest.param(lambda n: b'["' + b"\\" * n + b'"]', id="backslashes"),
        pytest.param(lambda n: b'["' + b'\\"' * n + b'"]' + b"[" * 300, id="escaped-quotes"),
        pytest.param(lambda n: b'"[' * n + b"[" * 300, id="quotes-and-brackets"),
        pytest.param(lambda n: b"[]," * n + b"[" * 300, id="flat-lists"),
    ],
)
def test_hostile_bodies_stay_linear(build: Callable[[int], bytes]) -> None:
    """CWE-400 / CWE-674: deep, escaped or quote-riddled bodies are scanned in linear time,
    before any recursive parser sees them."""
    assert_linear(build, lambda body: json_nesting_exceeds(body, 256), 20_000)
