"""``python -m benchmarks.observability`` runs: every setting and case answers as expected and the
table prints; ``--count`` runs untimed. No timing is asserted (the machine is shared)."""

from __future__ import annotations

import pytest

from benchmarks.observability import CASES, SETTINGS, main


def test_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--rounds", "1", "--calls", "5"])
    out = capsys.readouterr().out
    for case in CASES:
        assert f"{case} µs/req" in out
    for setting in SETTINGS:
        assert f"{setting} | " in out


def test_count_runs_untimed(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--count", "3", "--only", "off,request_context", "--cases", "mounted"])
    assert capsys.readouterr().out == ""


def test_unknown_names_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--only", "offf"])
    assert "unknown ['offf']" in capsys.readouterr().err
