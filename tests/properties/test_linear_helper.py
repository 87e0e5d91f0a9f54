"""The linear-time check itself: it must pass linear work and catch super-linear work, or every
"stays linear" test in this package proves nothing."""

from __future__ import annotations

import pytest

from ._linear import assert_linear


def _quadratic(n: int) -> int:
    return sum(1 for i in range(n) for _ in range(i))


def test_linear_work_passes() -> None:
    """A pass over the input, as every parser here should make, is accepted."""
    assert_linear(lambda n: "x" * n, lambda text: sum(1 for _ in text), 20_000)


def test_quadratic_work_is_caught() -> None:
    """Pairwise work (CWE-407's shape) fails the check, whatever the noise."""
    with pytest.raises(AssertionError, match=r"multiplied the time by more than 3\.0"):
        assert_linear(lambda n: n, _quadratic, 150)
