"""Benchmarks, kept outside the test run. See docs/performance.md (and docs/routing.md)."""
