"""The server benchmark: raw ASGI, microasgi and Starlette under uvicorn and granian, loaded by wrk.

Each implementation is served by its own server process (one worker, 127.0.0.1, a free port)
started once per server, lifespan on, as in production. Every response is checked with a plain
socket request before it is loaded (a fast 404 proves nothing), then ``wrk`` loads one endpoint
of one app at a time. Rounds are interleaved (each round loads every case on raw, microasgi and
Starlette in turn) and the median round is reported. ``wrk`` and the server share the machine's
cores, so the ratio between apps measured in one run is the figure; the absolute requests per
second depend on the machine.
Alongside, the server's own CPU time per request (its process group's, read from ``/proc``):
what the server spent on a request whoever else was using the machine meanwhile.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO

from benchmarks.cases import CASES, Case
from benchmarks.inprocess import machine

HOST = "127.0.0.1"  # SECURITY: the benchmark only ever serves and loads loopback.
ROOT = Path(__file__).resolve().parent.parent
SERVERS = ("uvicorn", "granian")
IMPLEMENTATIONS = ("raw", "microasgi", "starlette")
# wrk speaks plain HTTP/1.1 only: every case but the websocket echo.
SERVER_CASES = tuple(c.name for c in CASES if not c.websocket)
DEFAULT_CASES = ("plaintext", "json", "path", "query", "headers")
# Issue 8: under uvicorn and granian, throughput >= 0.92x the raw app's for these cases.
TARGET = 0.92
TARGET_CASES = ("plaintext", "json", "path")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
IO_TIMEOUT = 10.0
WRK_HINT = "wrk is not installed: install it with `apt-get install wrk` (Debian/Ubuntu)."


def server_command(server: str, impl: str, port: int, loop: str = "uvloop") -> list[str]:
    """The command line serving ``impl`` with ``server``: one worker, no access log, lifespan on.

    Raises:
        ValueError: for a server other than uvicorn or granian.
    """
    app = f"benchmarks.server_apps:{impl}"
    python = sys.executable
    address = ("--host", HOST, "--port", str(port))
    if server == "uvicorn":
        options = ("--loop", loop, "--http", "httptools", "--lifespan", "on", "--workers", "1")
        quiet = ("--no-access-log", "--log-level", "warning")
        return [python, "-m", "uvicorn", *address, *options, *quiet, app]
    if server == "granian":
        interface = ("--interface", "asgi", "--http", "1", "--workers", "1", "--no-ws")
        logs = ("--no-access-log", "--log-level", "warning")
        return [python, "-m", "granian", *address, *interface, "--loop", loop, *logs, app]
    raise ValueError(f"Unknown server {server!r}: choose from {', '.join(SERVERS)}.")


def target(case: Case) -> str:
    """The request target (path and query) of ``case``."""
    return f"{case.path}?{case.query.decode('latin-1')}" if case.query else case.path


# --- a server process ---------------------------------------------------------------------------


@dataclass
class Server:
    """One running server: what it serves, its port, its process and the file it logs to."""

    server: str
    impl: str
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def output(self) -> str:
        """What the server printed so far (for error messages)."""
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")


def free_port() -> int:
    """A port the kernel just handed out on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def launch(server: str, impl: str, tmpdir: str, loop: str = "uvloop") -> Server:
    """Start ``impl`` under ``server`` without waiting for it (see ``wait_ready``).

    The process gets its own session, so ``stop`` can end it and any worker it spawned by its
    process group id; ``TMPDIR`` points into ``tmpdir`` so the 1 MiB file the app writes for
    the file endpoint goes away with that directory whatever way the worker exits.
    """
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["TMPDIR"] = tmpdir
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        server_command(server, impl, port, loop),
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    return Server(server, impl, port, process, log)


def stop(server: Server) -> None:
    """End the server by its process id: terminate, wait, then kill its process group."""
    process = server.process
    try:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        # A worker the server spawned shares its process group (the session launch made).
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    finally:
        server.log.close()


@dataclass
class Reply:
    """A response read off the socket."""

    status: int
    headers: dict[str, str]
    body: bytes


def http_request(
    port: int,
    path: str,
    method: str = "GET",
    headers: Sequence[tuple[bytes, bytes]] = (),
    body: bytes = b"",
) -> Reply:
    """One HTTP/1.1 request on a fresh connection (``Connection: close``), read to the end.

    Raises:
        OSError: when the connection fails or the server closes it before a status line.
    """
    head = [f"{method} {path} HTTP/1.1".encode(), f"host: {HOST}:{port}".encode()]
    head += [name + b": " + value for name, value in headers if name != b"content-length"]
    head += [b"content-length: " + str(len(body)).encode(), b"connection: close"]
    with socket.create_connection((HOST, port), timeout=IO_TIMEOUT) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw_head, _, data = b"".join(chunks).partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise OSError(f"Not an HTTP response from {HOST}:{port}{path}: {lines[0]!r}")
    response_headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        response_headers[name.strip().lower()] = value.strip()
    if "content-length" in response_headers:
        data = data[: int(response_headers["content-length"])]
    return Reply(int(parts[1]), response_headers, data)


def wait_ready(server: Server, deadline: float) -> None:
    """Wait until the server answers ``GET /plaintext`` (lifespan done); fail if it dies or is late.

    Raises:
        RuntimeError: the process exited, or did not answer before ``deadline`` (monotonic).
    """
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.server} ({server.impl}) exited:\n{server.output()}")
        try:
            if http_request(server.port, "/plaintext").status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{server.server} ({server.impl}) did not answer on {HOST}:{server.port} "
                f"within {START_TIMEOUT:g}s:\n{server.output()}"
            )
        time.sleep(0.05)  # polling a subprocess's port: nothing to wait on but time


def verify(server: Server, case: Case) -> None:
    """Fail loudly unless the server answers ``case`` with the expected status and body.

    Raises:
        RuntimeError: the answer differs from what the case expects.
    """
    body = b"".join(case.body)
    reply = http_request(server.port, target(case), case.method, case.headers, body)
    where = f"{server.server} ({server.impl}) {case.name}"
    if reply.status != case.expect_status:
        raise RuntimeError(f"{where}: status {reply.status}, body {reply.body[:200]!r}")
    if case.expect_body is not None and reply.body != case.expect_body:
        raise RuntimeError(f"{where}: body {reply.body[:200]!r}, expected {case.expect_body!r}")
    if case.expect_body_size is not None and len(reply.body) != case.expect_body_size:
        raise RuntimeError(f"{where}: body of {len(reply.body)} bytes")


@contextmanager
def serving(server: str, impls: Sequence[str], loop: str = "uvloop") -> Iterator[dict[str, Server]]:
    """Start ``server`` once per implementation (start-ups overlap), yield them, always stop them."""
    with tempfile.TemporaryDirectory(prefix="microasgi-serverbench-") as tmpdir:
        started: dict[str, Server] = {}
        try:
            for impl in impls:
                started[impl] = launch(server, impl, tmpdir, loop)
            deadline = time.monotonic() + START_TIMEOUT
            for running in started.values():
                wait_ready(running, deadline)
            yield started
        finally:
            for running in started.values():
                stop(running)


# --- wrk ----------------------------------------------------------------------------------------

PERCENTILES = ("50%", "75%", "90%", "99%")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"([0-9.]+)(us|ms|s|m|h)")
_REQUESTS = re.compile(r"^Requests/sec:\s+([0-9.]+)\s*$", re.MULTILINE)
_PERCENTILE = re.compile(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", re.MULTILINE)
_DONE = re.compile(r"^\s+(\d+) requests in ", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass
class WrkResult:
    """What one wrk run measured."""

    requests_per_second: float
    latency: dict[str, float] = field(default_factory=dict)  # "50%" -> seconds
    non_2xx: int = 0
    socket_errors: int = 0
    requests: int = 0
    # CPU seconds the server's processes used during the run (set by ``load``; None off Linux).
    server_cpu: float | None = None

    def cpu_per_request(self) -> float | None:
        """Server CPU seconds per request: what the server spent, whoever else used the CPUs."""
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu / self.requests


def parse_duration(text: str) -> float:
    """Seconds in one of wrk's durations ("512.00us", "3.12ms", "1.02s", "2.00m").

    Raises:
        ValueError: the text is not a duration wrk prints.
    """
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"Not a wrk duration: {text!r} (expected a number and us, ms, s, m or h).")
    return float(match[1]) * _UNITS[match[2]]


def parse_wrk(output: str) -> WrkResult:
    """The throughput, latency percentiles and error counts in the output of ``wrk --latency``.

    Raises:
        ValueError: the output has no ``Requests/sec:`` line (wrk failed or is not wrk).
    """
    requests = _REQUESTS.search(output)
    if requests is None:
        raise ValueError(f"No 'Requests/sec:' line in wrk's output:\n{output}")
    latency = {f"{m[1]}%": parse_duration(m[2]) for m in _PERCENTILE.finditer(output)}
    non_2xx = _NON_2XX.search(output)
    sockets = _SOCKET.search(output)
    done = _DONE.search(output)
    return WrkResult(
        float(requests[1]),
        latency,
        int(non_2xx[1]) if non_2xx else 0,
        sum(int(n) for n in sockets.groups()) if sockets else 0,
        int(done[1]) if done else 0,
    )


def lua_string(text: str) -> str:
    """``text`` as a Lua string literal (every byte outside printable ASCII as ``\\ddd``)."""
    escaped = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else f"\\{b:03d}"
        for c in text
        for b in c.encode()
    )
    return f'"{escaped}"'


def write_script(case: Case, directory: str) -> str | None:
    """A wrk Lua script sending ``case``'s method and body (read from a file), or None for a GET."""
    if case.method == "GET" and not case.body:
        return None
    body_path = os.path.join(directory, f"{case.name}.body")
    with open(body_path, "wb") as f:
        f.write(b"".join(case.body))
    script_path = os.path.join(directory, f"{case.name}.lua")
    with open(script_path, "w", encoding="ascii") as f:
        f.write(
            f"local f = assert(io.open({lua_string(body_path)}, 'rb'))\n"
            f"wrk.method = {lua_string(case.method)}\n"
            "wrk.body = f:read('*a')\n"
            "f:close()\n"
        )
    return script_path


def wrk_command(
    case: Case, port: int, duration: int, threads: int, connections: int, script: str | None
) -> list[str]:
    """The wrk command loading ``case`` on ``port`` (wrk adds Host and, for a body, its length)."""
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency"]
    for name, value in case.headers:
        if name != b"content-length":
            command += ["-H", f"{name.decode('latin-1')}: {value.decode('latin-1')}"]
    if script is not None:
        command += ["-s", script]
    return [*command, f"http://{HOST}:{port}{target(case)}"]


def run_wrk(command: Sequence[str], duration: int) -> WrkResult:
    """Run wrk and parse its output.

    Raises:
        RuntimeError: wrk failed, or some answers were not 2xx/3xx (the numbers would lie).
    """
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    result = parse_wrk(done.stdout)
    if result.non_2xx:
        raise RuntimeError(f"{' '.join(command)}: {result.non_2xx} non-2xx/3xx answers")
    return result


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Options:
    """How to load each endpoint."""

    duration: int = 5
    threads: int = 2
    connections: int = 64
    rounds: int = 3
    warmup: int = 1


# case name -> implementation -> one result per round
Samples = dict[str, dict[str, list[WrkResult]]]


def has_python_multipart() -> bool:
    """Starlette parses forms with python-multipart, which microasgi's environment must not hold."""
    return importlib.util.find_spec("python_multipart") is not None


def skips(impl: str, case: Case) -> bool:
    """Whether ``impl`` cannot serve ``case`` here (Starlette's forms without python-multipart)."""
    return impl == "starlette" and case.needs_python_multipart and not has_python_multipart()


def load(s: Server, case: Case, script: str | None, opts: Options, duration: int) -> WrkResult:
    """One wrk run of ``case`` against ``s``.

    Raises:
        RuntimeError: wrk failed, or the server died during the run.
    """
    command = wrk_command(case, s.port, duration, opts.threads, opts.connections, script)
    before = group_cpu_seconds(s.process.pid)
    result = run_wrk(command, duration)
    after = group_cpu_seconds(s.process.pid)
    if s.process.poll() is not None:
        raise RuntimeError(f"{s.server} ({s.impl}) died under load:\n{s.output()}")
    if before is not None and after is not None:
        result.server_cpu = after - before
    return result


def group_cpu_seconds(pgid: int) -> float | None:
    """User + system CPU seconds used so far by the live processes of process group ``pgid``.

    A server and the workers it spawned share the group ``launch`` made, so this counts granian's
    worker as well as uvicorn's single process. Read from ``/proc``; None where there is none.
    """
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    ticks = 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue  # the process ended meanwhile
        # After the command name in parentheses: state ppid pgrp ... utime(12th) stime(13th).
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(
    server: str, impls: Sequence[str], cases: Sequence[Case], opts: Options, loop: str = "uvloop"
) -> Samples:
    """Load every case on every implementation under ``server``, rounds interleaved.

    Each round loads every case on every implementation in turn (plaintext on raw, microasgi,
    Starlette, then JSON on each, ...), so each case's rounds are spread over the whole run: a
    burst of other work on a shared machine falls on a round of every case, not on every round
    of one case (which once made one case read twice as costly as the others).
    """
    samples: Samples = {c.name: {} for c in cases}
    with serving(server, impls, loop) as running, tempfile.TemporaryDirectory() as scripts:
        plan: list[tuple[Case, list[Server], str | None]] = []
        for case in cases:
            active = [running[impl] for impl in impls if not skips(impl, case)]
            for s in active:
                verify(s, case)
                samples[case.name][s.impl] = []
            plan.append((case, active, write_script(case, scripts)))
        if opts.warmup:
            for case, active, script in plan:
                for s in active:
                    load(s, case, script, opts, opts.warmup)
        for _ in range(opts.rounds):
            for case, active, script in plan:
                for s in active:
                    samples[case.name][s.impl].append(load(s, case, script, opts, opts.duration))
    return samples


def median_rps(results: Sequence[WrkResult] | None) -> float | None:
    """The median requests per second over rounds (None when not measured)."""
    if not results:
        return None
    return statistics.median(r.requests_per_second for r in results)


def median_latency(results: Sequence[WrkResult] | None, percentile: str) -> float | None:
    """The median over rounds of one latency percentile, in seconds (None when not measured)."""
    values = [r.latency[percentile] for r in results or () if percentile in r.latency]
    return statistics.median(values) if values else None


def median_cpu(results: Sequence[WrkResult] | None) -> float | None:
    """The median over rounds of the server's CPU seconds per request (None when not measured)."""
    values = [v for r in results or () if (v := r.cpu_per_request()) is not None]
    return statistics.median(values) if values else None


def ratio(num: float | None, den: float | None) -> float | None:
    """``num / den``, or None when either is missing."""
    return None if num is None or den is None else num / den


def verdict(case: str, got: float | None) -> str:
    """The target cell: empty for a case without a target, else whether it is met."""
    if case not in TARGET_CASES:
        return ""
    if got is None:
        return f">= {TARGET:g}: not measured"
    if got >= TARGET:
        return f">= {TARGET:g}: met"
    return f">= {TARGET:g}: not met ({(TARGET - got) / TARGET * 100:.0f}% short)"


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def report(title: str, cases: Sequence[Case], samples: Samples) -> str:
    """The throughput and latency tables of one server, as Markdown."""
    out = [f"### {title}", ""]
    out.append(
        "| case | raw req/s | microasgi req/s | starlette req/s | microasgi/raw | starlette/raw "
        "| microasgi/starlette | target |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---|")
    for c in cases:
        got = samples.get(c.name, {})
        raw, mic, star = (median_rps(got.get(n)) for n in IMPLEMENTATIONS)
        row = [c.label, *(_fmt(v, ",.0f") for v in (raw, mic, star))]
        row += [_fmt(v, ".2f") for v in (ratio(mic, raw), ratio(star, raw), ratio(mic, star))]
        row.append(verdict(c.name, ratio(mic, raw)))
        out.append("| " + " | ".join(row) + " |")
    out += ["", "| case | " + " | ".join(f"{n} p50 / p99 ms" for n in IMPLEMENTATIONS) + " |"]
    out.append("|---" + "|---:" * len(IMPLEMENTATIONS) + "|")
    for c in cases:
        got = samples.get(c.name, {})
        cells = []
        for n in IMPLEMENTATIONS:
            p50, p99 = (median_latency(got.get(n), p) for p in ("50%", "99%"))
            cells.append(
                "n/a" if p50 is None or p99 is None else f"{p50 * 1e3:.2f} / {p99 * 1e3:.2f}"
            )
        out.append(f"| {c.label} | " + " | ".join(cells) + " |")
    out += ["", "| case | " + " | ".join(f"{n} server CPU µs/req" for n in IMPLEMENTATIONS)]
    out[-1] += " | microasgi - raw µs | starlette - raw µs |"
    out.append("|---" + "|---:" * (len(IMPLEMENTATIONS) + 2) + "|")
    for c in cases:
        got = samples.get(c.name, {})
        raw, mic, star = (median_cpu(got.get(n)) for n in IMPLEMENTATIONS)
        cells = [_fmt(None if v is None else v * 1e6, ".1f") for v in (raw, mic, star)]
        for v in (mic, star):
            cells.append(_fmt(None if v is None or raw is None else (v - raw) * 1e6, "+.1f"))
        out.append(f"| {c.label} | " + " | ".join(cells) + " |")
    errors = sum(r.socket_errors for got in samples.values() for rs in got.values() for r in rs)
    if errors:
        out += ["", f"wrk counted {errors} socket errors (connect, read, write, timeout) in all."]
    return "\n".join(out)


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def wrk_version(wrk: str) -> str:
    """wrk's version line, e.g. ``wrk debian/4.1.0-3+b2 [epoll]``."""
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10, check=False)
    first = (done.stdout or done.stderr).splitlines()[:1]
    return first[0].split(" Copyright")[0].strip() if first else "wrk (version unknown)"


def server_title(server: str, loop: str) -> str:
    """The heading of one server's tables, with the versions that shape its numbers."""
    if server == "uvicorn":
        return (
            f"uvicorn {_version('uvicorn')} (--http httptools {_version('httptools')}, "
            f"--loop {loop} {_version(loop) if loop == 'uvloop' else ''})".replace(" )", ")")
        )
    return f"granian {_version('granian')} (--interface asgi --http 1, --loop {loop})"


def missing_modules(servers: Sequence[str], loop: str) -> list[str]:
    """The distributions the run needs that are not importable here."""
    needed = [*servers, loop] + (["httptools"] if "uvicorn" in servers else [])
    return [name for name in needed if importlib.util.find_spec(name) is None]


def _names(value: str, allowed: Sequence[str], what: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"Unknown {what} {', '.join(map(repr, unknown)) or 'none given'}: "
            f"choose from {','.join(allowed)}."
        )
    return names


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (see ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.server", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--servers",
        type=lambda v: _names(v, SERVERS, "server"),
        default=list(SERVERS),
        help="comma-separated: " + ",".join(SERVERS),
    )
    parser.add_argument(
        "--cases",
        type=lambda v: _names(v, SERVER_CASES, "case"),
        default=list(DEFAULT_CASES),
        help=f"comma-separated, from {','.join(SERVER_CASES)} (default {','.join(DEFAULT_CASES)})",
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median kept)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of wrk per app and case")
    parser.add_argument(
        "--loop", default="uvloop", choices=("uvloop", "asyncio"), help="both servers' event loop"
    )
    parser.add_argument(
        "--quick", action="store_true", help="one round of 1 s, no warm-up: checks it runs"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.warmup = 1, 1, 0
    if min(args.duration, args.threads, args.rounds) < 1 or args.connections < args.threads:
        parser.error("--duration, --threads and --rounds must be >= 1, --connections >= --threads")
    return args


def main(argv: Sequence[str] | None = None, out: IO[str] | None = None) -> None:
    """Check the tools, run every server, print the machine and the tables.

    Exits with status 2 (and says how to install it) when wrk or a server is missing.
    """
    out = out or sys.stdout
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print(WRK_HINT, file=sys.stderr)
        raise SystemExit(2)
    missing = missing_modules(args.servers, args.loop)
    if missing:
        print(
            f"Missing {', '.join(missing)}: install them with "
            f".venv/bin/pip install {' '.join(missing)} (or the 'bench' extra).",
            file=sys.stderr,
        )
        raise SystemExit(2)
    impls = list(IMPLEMENTATIONS)
    if importlib.util.find_spec("starlette") is None:
        print("starlette is not installed (pip install -e '.[bench]'): leaving it out", file=out)
        impls.remove("starlette")
    cases = [c for c in CASES if c.name in args.cases]
    opts = Options(args.duration, args.threads, args.connections, args.rounds, args.warmup)
    print("\n".join(machine()), file=out)
    print(f"servers: {'; '.join(server_title(s, args.loop) for s in args.servers)}", file=out)
    print(
        f"load: {wrk_version(wrk)}, -t{opts.threads} -c{opts.connections} -d{opts.duration}s "
        f"--latency, {opts.warmup}s warm-up per app and case; {opts.rounds} rounds interleaved "
        "(each round: every case on raw, microasgi, starlette), median shown",
        file=out,
    )
    print(
        f"note: wrk and the server share this machine's {os.cpu_count()} CPUs (and whatever "
        "else runs on it), so compare the ratios within a run, not the absolute req/s",
        file=out,
        flush=True,
    )
    for server in args.servers:
        samples = measure(server, impls, cases, opts, args.loop)
        print("\n" + report(server_title(server, args.loop), cases, samples), file=out, flush=True)


if __name__ == "__main__":
    main()
