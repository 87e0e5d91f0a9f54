"""``python -m benchmarks``: the in-process benchmark (see docs/performance.md)."""

from benchmarks.inprocess import main

main()
