"""The server benchmark (benchmarks/server.py): its pure parts, and real servers started and stopped.

No timing is asserted (the machine is shared). wrk itself is not needed: its output is parsed
from a captured sample, and the end-to-end run uses a stand-in ``wrk`` on ``PATH`` that prints
that sample, so CI (which has no wrk) runs everything but the load itself.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from benchmarks import server_apps
from benchmarks.cases import CASES, Case
from benchmarks.server import (
    DEFAULT_CASES,
    START_TIMEOUT,
    WRK_HINT,
    Options,
    Server,
    WrkResult,
    group_cpu_seconds,
    launch,
    lua_string,
    main,
    measure,
    median_cpu,
    median_latency,
    median_rps,
    parse_args,
    parse_duration,
    parse_wrk,
    ratio,
    report,
    server_command,
    serving,
    stop,
    target,
    verdict,
    verify,
    wait_ready,
    write_script,
    wrk_command,
)

# Captured from `wrk -t2 -c64 -d2s --latency` against uvicorn serving the raw app.
WRK_SAMPLE = """\
Running 2s test @ http://127.0.0.1:18123/plaintext
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.01ms    9.39ms 135.32ms   97.50%
    Req/Sec    11.62k     1.65k   13.13k    90.00%
  Latency Distribution
     50%    2.60ms
     75%    2.71ms
     90%    3.21ms
     99%   60.12ms
  46295 requests in 2.00s, 6.49MB read
Requests/sec:  23121.98
Transfer/sec:      3.24MB
"""

# The same with the two error lines wrk adds when it has something to count.
WRK_SAMPLE_ERRORS = WRK_SAMPLE.replace(
    "  46295 requests in 2.00s, 6.49MB read\n",
    "  46295 requests in 2.00s, 6.49MB read\n"
    "  Socket errors: connect 1, read 2, write 3, timeout 4\n"
    "  Non-2xx or 3xx responses: 17\n",
)

BY_NAME = {c.name: c for c in CASES}


# --- the run's order -----------------------------------------------------------------------------


def test_measure_spreads_each_case_over_every_round(monkeypatch: pytest.MonkeyPatch) -> None:
    # A burst of other work on the shared machine must fall on one round of every case, not on
    # every round of one case: each round loads every case on every app in turn.
    loads: list[tuple[str, str, int]] = []

    @contextmanager
    def fake_serving(
        server: str, impls: Sequence[str], loop: str = "uvloop"
    ) -> Iterator[dict[str, Server]]:
        yield {impl: Server(server, impl, 0, None, None) for impl in impls}  # type: ignore[arg-type]

    def fake_load(s: Any, case: Case, script: Any, opts: Any, duration: int) -> WrkResult:
        loads.append((case.name, s.impl, duration))
        return WrkResult(1.0)

    monkeypatch.setattr("benchmarks.server.serving", fake_serving)
    monkeypatch.setattr("benchmarks.server.verify", lambda s, case: None)
    monkeypatch.setattr("benchmarks.server.load", fake_load)
    cases = [BY_NAME["plaintext"], BY_NAME["path"]]
    opts = Options(duration=5, rounds=2, warmup=1)
    samples = measure("uvicorn", ["raw", "microasgi"], cases, opts)
    one_round = [(c, i, 5) for c in ("plaintext", "path") for i in ("raw", "microasgi")]
    warmups = [(c, i, 1) for c, i, _ in one_round]
    assert loads == warmups + one_round + one_round
    assert {c: {i: len(r) for i, r in got.items()} for c, got in samples.items()} == {
        "plaintext": {"raw": 2, "microasgi": 2},
        "path": {"raw": 2, "microasgi": 2},
    }


# --- wrk's output --------------------------------------------------------------------------------


def test_parse_wrk_reads_throughput_and_percentiles() -> None:
    result = parse_wrk(WRK_SAMPLE)
    assert result.requests_per_second == 23121.98
    assert result.latency == pytest.approx(
        {"50%": 2.60e-3, "75%": 2.71e-3, "90%": 3.21e-3, "99%": 60.12e-3}
    )
    assert (result.non_2xx, result.socket_errors, result.requests) == (0, 0, 46295)
    assert result.server_cpu is None


def test_parse_wrk_counts_errors() -> None:
    result = parse_wrk(WRK_SAMPLE_ERRORS)
    assert (result.non_2xx, result.socket_errors) == (17, 10)


def test_parse_wrk_refuses_output_without_a_rate() -> None:
    with pytest.raises(ValueError, match="No 'Requests/sec:' line"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("512.00us", 512e-6),
        ("3.12ms", 3.12e-3),
        ("1.02s", 1.02),
        ("2.00m", 120.0),
        ("1.00h", 3600.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "3.12", "ms", "3.12 ms", "3.12ns", "-1ms"])
def test_parse_duration_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="Not a wrk duration"):
        parse_duration(text)


# --- wrk's command and script --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("/tmp/a.body", '"/tmp/a.body"'),
        ('say "hi"', '"say \\034hi\\034"'),
        ("back\\slash", '"back\\092slash"'),
        ("line\nbreak", '"line\\010break"'),
        ("é", '"\\195\\169"'),
    ],
)
def test_lua_string_escapes_everything_but_printable_ascii(text: str, literal: str) -> None:
    assert lua_string(text) == literal


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("plaintext", "/plaintext"),
        ("path", "/items/abc123"),
        ("query", "/query?a=1&b=two&c=3&d=four&e=5&page=2&sort=name"),
    ],
)
def test_target_is_path_and_query(name: str, url: str) -> None:
    assert target(BY_NAME[name]) == url


def test_wrk_command_for_a_get_sends_the_case_headers() -> None:
    command = wrk_command(BY_NAME["headers"], 8123, 5, 2, 64, None)
    assert command[:8] == ["wrk", "-t", "2", "-c", "64", "-d", "5s", "--latency"]
    assert command[-1] == "http://127.0.0.1:8123/headers"
    headers = [command[i + 1] for i, arg in enumerate(command) if arg == "-H"]
    assert headers == [f"x-bench-{i}: value-{i}" for i in range(10)]
    assert "-s" not in command


def test_wrk_command_for_a_post_uses_the_script_and_lets_wrk_set_the_length() -> None:
    command = wrk_command(BY_NAME["form"], 8123, 1, 1, 8, "/tmp/form.lua")
    assert command[command.index("-s") + 1] == "/tmp/form.lua"
    headers = [command[i + 1] for i, arg in enumerate(command) if arg == "-H"]
    assert headers == ["content-type: application/x-www-form-urlencoded"]


def test_write_script_is_none_for_a_get(tmp_path: Path) -> None:
    assert write_script(BY_NAME["plaintext"], str(tmp_path)) is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["form", "multipart"])
def test_write_script_posts_the_case_body_from_a_file(name: str, tmp_path: Path) -> None:
    case = BY_NAME[name]
    script = write_script(case, str(tmp_path))
    assert script is not None
    body_path = tmp_path / f"{name}.body"
    assert body_path.read_bytes() == b"".join(case.body)
    assert Path(script).read_text("ascii") == (
        f"local f = assert(io.open({lua_string(str(body_path))}, 'rb'))\n"
        'wrk.method = "POST"\n'
        "wrk.body = f:read('*a')\n"
        "f:close()\n"
    )


# --- medians, ratios, verdicts, tables -----------------------------------------------------------


def _result(
    rps: float, p50_ms: float = 1.0, p99_ms: float = 2.0, cpu_us: float | None = None
) -> WrkResult:
    cpu = None if cpu_us is None else cpu_us * 1e-6 * 1000
    return WrkResult(rps, {"50%": p50_ms / 1e3, "99%": p99_ms / 1e3}, requests=1000, server_cpu=cpu)


@pytest.mark.parametrize(
    ("rates", "median"),
    [(None, None), ([], None), ([5.0], 5.0), ([3.0, 1.0, 2.0], 2.0), ([4.0, 1.0], 2.5)],
)
def test_median_rps(rates: list[float] | None, median: float | None) -> None:
    results = None if rates is None else [_result(r) for r in rates]
    assert median_rps(results) == median


@pytest.mark.parametrize(
    ("result", "per_request"),
    [
        (WrkResult(1.0, requests=1000, server_cpu=0.05), 50e-6),
        (WrkResult(1.0, requests=1000), None),
        (WrkResult(1.0, requests=0, server_cpu=0.05), None),
    ],
)
def test_cpu_per_request(result: WrkResult, per_request: float | None) -> None:
    assert result.cpu_per_request() == pytest.approx(per_request)


def test_median_cpu_skips_rounds_without_a_figure() -> None:
    results = [
        _result(1, cpu_us=30.0),
        _result(1),
        _result(1, cpu_us=10.0),
        _result(1, cpu_us=20.0),
    ]
    assert median_cpu(results) == pytest.approx(20e-6)
    assert median_cpu([_result(1)]) is None
    assert median_cpu(None) is None


def test_group_cpu_seconds_counts_this_process_group() -> None:
    used = group_cpu_seconds(os.getpgid(0))
    assert used is not None
    assert used > 0
    assert group_cpu_seconds(2**22 + 1) == 0  # above Linux's pid_max: no such group


def test_median_latency_takes_the_median_of_one_percentile() -> None:
    results = [_result(1, 3.0, 30.0), _result(1, 1.0, 10.0), _result(1, 2.0, 90.0)]
    assert median_latency(results, "50%") == pytest.approx(2e-3)
    assert median_latency(results, "99%") == pytest.approx(30e-3)
    assert median_latency(results, "75%") is None
    assert median_latency(None, "50%") is None


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [(1.0, 2.0, 0.5), (None, 2.0, None), (1.0, None, None), (None, None, None)],
)
def test_ratio(num: float | None, den: float | None, expected: float | None) -> None:
    assert ratio(num, den) == expected


@pytest.mark.parametrize(
    ("case", "got", "cell"),
    [
        ("plaintext", 0.95, ">= 0.92: met"),
        ("json", 0.92, ">= 0.92: met"),
        ("path", 0.46, ">= 0.92: not met (50% short)"),
        ("path", None, ">= 0.92: not measured"),
        ("query", 0.10, ""),
        ("headers", None, ""),
    ],
)
def test_verdict(case: str, got: float | None, cell: str) -> None:
    assert verdict(case, got) == cell


def test_report_renders_medians_ratios_and_latencies() -> None:
    samples = {
        "plaintext": {
            "raw": [_result(20000, 2.0, 9.0, 40.0), _result(10000), _result(30000)],
            "microasgi": [_result(19000, 2.5, 10.0, 43.5)],
            "starlette": [_result(10000, 4.0, 20.0, 55.25)],
        },
        "form": {"raw": [_result(8000)], "microasgi": [_result(2000)]},
    }
    cases = [BY_NAME["plaintext"], BY_NAME["form"]]
    assert report("uvicorn x", cases, samples).splitlines() == [
        "### uvicorn x",
        "",
        "| case | raw req/s | microasgi req/s | starlette req/s | microasgi/raw | starlette/raw "
        "| microasgi/starlette | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        "| plaintext | 20,000 | 19,000 | 10,000 | 0.95 | 0.50 | 1.90 | >= 0.92: met |",
        "| urlencoded form (20 fields) | 8,000 | 2,000 | n/a | 0.25 | n/a | n/a |  |",
        "",
        "| case | raw p50 / p99 ms | microasgi p50 / p99 ms | starlette p50 / p99 ms |",
        "|---|---:|---:|---:|",
        "| plaintext | 1.00 / 2.00 | 2.50 / 10.00 | 4.00 / 20.00 |",
        "| urlencoded form (20 fields) | 1.00 / 2.00 | 1.00 / 2.00 | n/a |",
        "",
        "| case | raw server CPU µs/req | microasgi server CPU µs/req | starlette server CPU µs/req "
        "| microasgi - raw µs | starlette - raw µs |",
        "|---|---:|---:|---:|---:|---:|",
        "| plaintext | 40.0 | 43.5 | 55.2 | +3.5 | +15.2 |",
        "| urlencoded form (20 fields) | n/a | n/a | n/a | n/a | n/a |",
    ]


def test_report_counts_socket_errors() -> None:
    samples = {"plaintext": {"raw": [WrkResult(1.0, socket_errors=3)]}}
    out = report("granian", [BY_NAME["plaintext"]], samples)
    assert out.endswith("\n\nwrk counted 3 socket errors (connect, read, write, timeout) in all.")


# --- the command line ----------------------------------------------------------------------------


def test_parse_args_defaults_and_quick() -> None:
    args = parse_args([])
    assert (args.servers, args.cases) == (["uvicorn", "granian"], list(DEFAULT_CASES))
    assert (args.duration, args.connections, args.threads, args.rounds) == (5, 64, 2, 3)
    quick = parse_args(["--quick", "--servers", "granian", "--cases", "json, state"])
    assert (quick.servers, quick.cases) == (["granian"], ["json", "state"])
    assert (quick.duration, quick.rounds, quick.warmup) == (1, 1, 0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--servers", "hypercorn"], "Unknown server 'hypercorn': choose from uvicorn,granian."),
        (["--cases", "websocket"], "Unknown case 'websocket': choose from plaintext,"),
        (["--cases", ","], "Unknown case none given"),
        (["--connections", "1", "--threads", "2"], "--connections >= --threads"),
        (["--rounds", "0"], "must be >= 1"),
        (["--loop", "trio"], "invalid choice: 'trio'"),
    ],
)
def test_parse_args_refuses_bad_options(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_main_without_wrk_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit) as exc:
        main(["--quick"])
    assert exc.value.code == 2
    assert WRK_HINT in capsys.readouterr().err
    assert "apt-get install wrk" in WRK_HINT


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (
            "uvicorn",
            "-m uvicorn --host 127.0.0.1 --port 8123 --loop uvloop --http httptools --lifespan on "
            "--workers 1 --no-access-log --log-level warning benchmarks.server_apps:raw",
        ),
        (
            "granian",
            "-m granian --host 127.0.0.1 --port 8123 --interface asgi --http 1 --workers 1 --no-ws "
            "--loop uvloop --no-access-log --log-level warning benchmarks.server_apps:raw",
        ),
    ],
)
def test_server_command(server: str, expected: str) -> None:
    assert server_command(server, "raw", 8123) == [sys.executable, *expected.split()]


def test_server_command_refuses_another_server() -> None:
    with pytest.raises(ValueError, match="Unknown server 'daphne': choose from uvicorn, granian"):
        server_command("daphne", "raw", 8123)


# --- the apps module -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["raw", "microasgi", "starlette"])
def test_server_apps_builds_each_app_once(name: str) -> None:
    app = getattr(server_apps, name)
    assert callable(app)
    assert getattr(server_apps, name) is app


def test_server_apps_has_no_other_attribute() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'flask'"):
        server_apps.flask  # noqa: B018


# --- real servers --------------------------------------------------------------------------------


def _gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.integration
@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_servers_answer_every_case_after_lifespan_and_stop_leaving_nothing(server: str) -> None:
    # asyncio, not uvloop: CI's environment need not have uvloop; the start and stop are the same.
    with serving(server, ["raw", "microasgi"], loop="asyncio") as running:
        for s in running.values():
            for case in CASES:
                if not case.websocket:
                    verify(s, case)  # "state" answers only once lifespan startup has run
            cpu = group_cpu_seconds(s.process.pid)
            assert cpu is not None
            assert cpu > 0
        wrong = Case("plaintext", "plaintext", "/plaintext", expect_body=b"Goodbye")
        with pytest.raises(RuntimeError, match=r"\(raw\) plaintext: body b'Hello, world!'"):
            verify(running["raw"], wrong)
        missing = Case("nothing", "nothing", "/nothing")
        with pytest.raises(RuntimeError, match=r"\(microasgi\) nothing: status 404"):
            verify(running["microasgi"], missing)
        processes = [s.process for s in running.values()]
    assert all(p.returncode is not None for p in processes)
    assert all(_gone(p.pid) for p in processes)


@pytest.mark.integration
def test_a_server_that_cannot_start_is_reported_with_its_output(tmp_path: Path) -> None:
    broken = launch("uvicorn", "flask", str(tmp_path), loop="asyncio")
    try:
        with pytest.raises(RuntimeError, match=r"(?s)uvicorn \(flask\) exited:.*flask"):
            wait_ready(broken, time.monotonic() + START_TIMEOUT)
    finally:
        stop(broken)
    assert _gone(broken.process.pid)


@pytest.mark.integration
def test_main_runs_end_to_end_with_a_stand_in_wrk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "wrk"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "if sys.argv[1:] == ['-v']:\n"
        "    print('wrk stand-in [test] Copyright (C) nobody')\n"
        "else:\n"
        f"    print({WRK_SAMPLE!r}, end='')\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path), os.environ["PATH"]]))
    out_path = tmp_path / "out.txt"
    with out_path.open("w") as out:
        argv = ["--quick", "--servers", "uvicorn", "--cases", "plaintext", "--loop", "asyncio"]
        main(argv, out)
    lines = out_path.read_text().splitlines()
    assert lines[0].startswith("machine: ")
    assert any(line.startswith("servers: uvicorn ") for line in lines)
    assert any(line.startswith("load: wrk stand-in [test], -t2 -c64 -d1s") for line in lines)
    assert any(line.startswith("note: wrk and the server share") for line in lines)
    row = "| plaintext | 23,122 | 23,122 | 23,122 | 1.00 | 1.00 | 1.00 | >= 0.92: met |"
    assert row in lines
    assert "| plaintext | 2.60 / 60.12 | 2.60 / 60.12 | 2.60 / 60.12 |" in lines
    # The stand-in claims 46,295 requests the servers never served: the CPU figures are near
    # zero, but each server's CPU was read around the run.
    cpu_header = next(i for i, line in enumerate(lines) if "server CPU µs/req" in line)
    cells = lines[cpu_header + 2].strip("| ").split(" | ")
    assert cells[0] == "plaintext"
    assert all(float(cell) >= -1.0 for cell in cells[1:])
