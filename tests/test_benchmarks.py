"""The benchmark harness runs: a few iterations of every case, and the tables it prints.

No timing is asserted (the machine is shared); this only keeps ``python -m benchmarks`` working.
"""

from __future__ import annotations

import importlib.util

import pytest

from benchmarks import cancellation
from benchmarks.cases import CASES
from benchmarks.inprocess import main


def test_quick_run_prints_every_table(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--quick"])
    out = capsys.readouterr().out
    assert "machine:" in out
    assert "| endpoint | raw µs | microasgi µs |" in out
    for case in CASES:
        assert f"| {case.label} | " in out, case.name
    assert "| plaintext throughput / raw | >= 0.5 |" in out
    assert "| plaintext peak bytes | <= 1536 |" in out


@pytest.mark.skipif(importlib.util.find_spec("starlette") is None, reason="bench extra")
def test_starlette_form_cases_say_na_without_python_multipart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["--quick", "--only", "form,multipart", "--no-memory"])
    labels = tuple(f"| {case.label} |" for case in CASES if case.name in ("form", "multipart"))
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(labels)]
    assert len(rows) == 2
    expected_na = importlib.util.find_spec("python_multipart") is None
    assert all(("n/a" in row) == expected_na for row in rows)


def test_cancellation_benchmark_prints_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    cancellation.main(["--rounds", "1", "--calls", "3"])
    out = capsys.readouterr().out
    assert "plaintext µs/req" in out
    assert "upload µs/req" in out
    for name in cancellation.SETTINGS:
        assert f"{name} | " in out, name
    with pytest.raises(SystemExit):
        cancellation.main(["--only", "nonsense"])
    assert "unknown ['nonsense']" in capsys.readouterr().err
