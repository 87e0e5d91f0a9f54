"""The in-process benchmark: raw ASGI, microasgi and Starlette on the same ten endpoints.

Each app is called directly with a prebuilt scope (no server, no sockets), after its lifespan
has started, with a fresh shallow copy of the lifespan state per request as servers do. Rounds
are interleaved (raw, microasgi, Starlette, raw, ...) and the median round is reported, so a
shared machine's noise falls on all three alike. Peak memory per request is measured in a
separate pass under ``tracemalloc`` (which slows everything down, so it is never timed).

``--compiled DIR`` adds microasgi's compiled build, installed in DIR (``MICROASGI_COMPILE=1 pip
install --no-deps --target DIR .``), as a fourth implementation. The two builds cannot share one
interpreter (they are the same package), so the compiled one is served by a worker process
(``benchmarks.worker``) that times its own requests when told to: its rounds interleave with the
others' as theirs do.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio

from benchmarks.cases import CASES, WS_MESSAGES, Case

IMPLEMENTATIONS = ("raw", "microasgi", "compiled", "starlette")
# With --compiled, the raw app is timed in the compiled build's process too ("raw-c"), and the
# compiled build's ratios are taken to it.
COMPILED_RAW = "raw-c"

# Throughput targets from issue 8 (the pure build), as a fraction of the raw app's, per case.
TARGETS: dict[str, float] = {
    "plaintext": 0.50,
    "json": 0.50,
    "path": 0.50,
    "headers": 0.50,
    "query": 0.60,
    "form": 0.40,
    "multipart": 0.45,
}
PEAK_TARGET_BYTES = 1536  # tracemalloc peak per plaintext request
# The compiled build's targets, from issue 16.
COMPILED_TARGETS: dict[str, float] = {
    "plaintext": 0.55,
    "json": 0.55,
    "path": 0.55,
    "headers": 0.55,
    "query": 0.70,
    "form": 0.40,
    "multipart": 0.45,
}
COMPILED_PEAK_TARGET_BYTES = 1024


def _build(name: str) -> Any:
    if name == "raw":
        from benchmarks.raw_app import app

        return app
    from benchmarks.framework_apps import build

    return build(name)


def _has_python_multipart() -> bool:
    return importlib.util.find_spec("python_multipart") is not None


@dataclass
class Subject:
    """One implementation under test, run in this process, and its per-case verdicts."""

    name: str
    app: Any
    state: dict[str, Any]
    shutdown: Callable[[], Any]

    def skips(self, case: Case) -> bool:
        """Starlette parses forms with python-multipart: without it, its form rows are skipped."""
        return (
            self.name == "starlette" and case.needs_python_multipart and not _has_python_multipart()
        )

    async def verify(self, case: Case) -> None:
        """Fail loudly if the app does not answer the case correctly (a fast 404 proves nothing)."""
        sent: list[dict[str, Any]] = []

        async def collect(message: Any) -> None:
            sent.append(message)

        await _run(self.app, case, self.state, 1, collect)
        check(f"{self.name} {case.name}", case, sent)

    async def run(self, case: Case, calls: int) -> float:
        """Seconds taken by ``calls`` requests of the case."""
        return await _run(self.app, case, self.state, calls, _discard)

    async def peak(self, case: Case, calls: int) -> float:
        """Median tracemalloc peak bytes of one request (``tracemalloc`` is running)."""
        return await _peak(self, case, calls)


async def start(name: str, tg: Any) -> Subject:
    """Build the app and run its lifespan startup, as a server does before the first request."""
    app = _build(name)
    state: dict[str, Any] = {}
    to_app_send, to_app_receive = anyio.create_memory_object_stream[dict[str, Any]](2)
    from_app_send, from_app_receive = anyio.create_memory_object_stream[dict[str, Any]](2)
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.4"}, "state": state}
    tg.start_soon(app, scope, to_app_receive.receive, from_app_send.send)
    await to_app_send.send({"type": "lifespan.startup"})
    reply = await from_app_receive.receive()
    if reply["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"{name}: lifespan startup failed: {reply!r}")

    async def shutdown() -> None:
        await to_app_send.send({"type": "lifespan.shutdown"})
        await from_app_receive.receive()
        for stream in (to_app_send, to_app_receive, from_app_send, from_app_receive):
            stream.close()

    return Subject(name, app, state, shutdown)


async def _discard(message: Any) -> None:
    return None


async def _run(app: Any, case: Case, state: dict[str, Any], calls: int, send: Any) -> float:
    """Seconds taken by ``calls`` requests; the harness's own cost is the same for every app."""
    template = case.scope()
    messages = case.messages()
    last: dict[str, Any] = {"type": "websocket.disconnect" if case.websocket else "http.disconnect"}
    start = time.perf_counter()
    for _ in range(calls):
        scope = template.copy()
        scope["state"] = state.copy()
        feed = iter(messages)

        async def receive(feed: Any = feed) -> Any:
            return next(feed, last)

        await app(scope, receive, send)
    return time.perf_counter() - start


def check(where: str, case: Case, sent: list[dict[str, Any]]) -> None:
    """Raise if the messages an app sent are not the case's expected answer."""
    if case.websocket:
        texts = [m for m in sent if m["type"] == "websocket.send"]
        if sent[0]["type"] != "websocket.accept" or len(texts) != WS_MESSAGES:
            raise RuntimeError(f"{where}: unexpected messages {sent[:3]!r}...")
        return
    status = sent[0].get("status")
    body = b"".join(m.get("body", b"") for m in sent[1:])
    if status != case.expect_status:
        raise RuntimeError(f"{where}: status {status!r}, body {body[:200]!r}")
    if case.expect_body is not None and body != case.expect_body:
        raise RuntimeError(f"{where}: body {body[:200]!r}, expected {case.expect_body!r}")
    if case.expect_body_size is not None and len(body) != case.expect_body_size:
        raise RuntimeError(f"{where}: body of {len(body)} bytes")


async def _peak(subject: Subject, case: Case, calls: int) -> float:
    """Median tracemalloc peak bytes of one request, above what was allocated before it.

    The request's scope, state and ``receive`` are built before the measurement starts: a
    server allocates them whatever the app, so only what the app itself allocates is counted.
    """
    template = case.scope()
    messages = case.messages()
    last: dict[str, Any] = {"type": "websocket.disconnect" if case.websocket else "http.disconnect"}
    await subject.run(case, 3)
    values = []
    for _ in range(calls):
        scope = template.copy()
        scope["state"] = subject.state.copy()
        feed = iter(messages)

        async def receive(feed: Any = feed) -> Any:
            return next(feed, last)

        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        await subject.app(scope, receive, _discard)
        values.append(tracemalloc.get_traced_memory()[1] - before)
    return statistics.median(values)


@dataclass
class Options:
    """How long to measure."""

    rounds: int
    round_time: float
    memory_calls: int


async def _time_case(subjects: Sequence[Any], case: Case, opts: Options) -> dict[str, float]:
    """Median µs per request of each subject, rounds interleaved."""
    calls: dict[str, int] = {}
    for s in subjects:
        per_call = await s.run(case, 3) / 3
        calls[s.name] = max(3, round(opts.round_time / per_call))
        await s.run(case, max(1, calls[s.name] // 5))  # warm up
    samples: dict[str, list[float]] = {s.name: [] for s in subjects}
    for _ in range(opts.rounds):
        for s in subjects:
            n = calls[s.name]
            samples[s.name].append(await s.run(case, n) / n * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


Results = dict[str, dict[str, float | None]]


async def measure(
    names: Sequence[str],
    cases: Sequence[Case],
    opts: Options,
    memory: bool,
    compiled: str | None = None,
) -> tuple[Results, Results]:
    """Time every case on every implementation, then (optionally) measure peak memory.

    ``compiled`` is the directory holding the compiled build, for the "compiled" implementation.
    """
    times: Results = {c.name: {} for c in cases}
    peaks: Results = {c.name: {} for c in cases}
    remote: Any = None
    if "compiled" in names:
        from benchmarks.worker import Remote

        remote = Remote.spawn(compiled or "")  # first: a refusal leaves nothing running
    try:
        await _measure(names, cases, opts, memory, remote, times, peaks)
    finally:
        if remote is not None:
            remote.stop()
    return times, peaks


async def _measure(
    names: Sequence[str],
    cases: Sequence[Case],
    opts: Options,
    memory: bool,
    remote: Any,
    times: Results,
    peaks: Results,
) -> None:
    async with anyio.create_task_group() as tg:
        subjects = [
            remote.subject(name) if name in ("compiled", COMPILED_RAW) else await start(name, tg)
            for name in names
        ]
        for case in cases:
            active = [s for s in subjects if not s.skips(case)]
            for s in active:
                await s.verify(case)
            times[case.name] = {s.name: None for s in subjects}
            times[case.name].update(await _time_case(active, case, opts))
        if memory:
            tracemalloc.start()
            try:
                for case in cases:
                    peaks[case.name] = {s.name: None for s in subjects}
                    for s in subjects:
                        if not s.skips(case):
                            peaks[case.name][s.name] = await s.peak(case, opts.memory_calls)
            finally:
                tracemalloc.stop()
        for s in subjects:
            await s.shutdown()


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def machine() -> list[str]:
    """Lines describing where the numbers were taken."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    libraries = ", ".join(
        f"{d} {_version(d)}" for d in ("microasgi", "starlette", "anyio", "multipart")
    )
    return [
        f"machine: {os.cpu_count()} CPUs, {cpu}",
        f"python: {platform.python_implementation()} {sys.version.split()[0]}",
        f"libraries: {libraries}",
        f"python-multipart: {'installed' if _has_python_multipart() else 'not installed'}",
    ]


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or den is None else num / den


def report(names: Sequence[str], cases: Sequence[Case], times: Results, peaks: Results) -> str:
    """The tables as Markdown, ready to paste into docs/performance.md."""
    builds = [n for n in ("microasgi", "compiled") if n in names]
    out = ["", "| endpoint | " + " | ".join(f"{n} µs" for n in names) + " | microasgi req/s "]
    out[-1] += "".join(f"| {n} / {_raw_for(n, names)} " for n in builds)
    out[-1] += "| Starlette / raw |"
    out[-1] += "".join(f" {n} speed-up over Starlette |" for n in builds)
    out.append("|---" + "|---:" * (len(names) + 2 + 2 * len(builds)) + "|")
    for c in cases:
        t = times[c.name]
        mic, raw, star = t.get("microasgi"), t.get("raw"), t.get("starlette")
        row = [c.label, *(_fmt(t.get(n), ".2f") for n in names)]
        row.append(_fmt(None if mic is None else 1e6 / mic, ",.0f"))
        row += [_fmt(_ratio(t.get(_raw_for(n, names)), t.get(n)), ".2f") for n in builds]
        row.append(_fmt(_ratio(raw, star), ".2f"))
        row += [_fmt(_ratio(star, t.get(n)), ".2f") for n in builds]
        out.append("| " + " | ".join(row) + " |")
    if any(peaks[c.name] for c in cases):
        out += ["", "| endpoint | " + " | ".join(f"{n} peak bytes" for n in names) + " |"]
        out.append("|---" + "|---:" * len(names) + "|")
        for c in cases:
            out.append(
                f"| {c.label} | "
                + " | ".join(_fmt(peaks[c.name].get(n), ",.0f") for n in names)
                + " |"
            )
    out += ["", "| target | wanted | measured | verdict |", "|---|---:|---:|---|"]
    goals = [("microasgi", "", TARGETS, PEAK_TARGET_BYTES)]
    goals.append(("compiled", "compiled ", COMPILED_TARGETS, COMPILED_PEAK_TARGET_BYTES))
    for build, prefix, targets, peak_target in goals:
        if build not in names:
            continue
        for name, wanted in targets.items():
            if name in times:
                got = _ratio(times[name].get(_raw_for(build, names)), times[name].get(build))
                out.append(_verdict(f"{prefix}{name} throughput / raw", wanted, got, higher=True))
        if "plaintext" in peaks and peaks["plaintext"].get(build) is not None:
            got = peaks["plaintext"][build]
            out.append(_verdict(f"{prefix}plaintext peak bytes", peak_target, got, higher=False))
    return "\n".join(out)


def _raw_for(build: str, names: Sequence[str]) -> str:
    """The raw app timed in the same process as ``build``."""
    return COMPILED_RAW if build == "compiled" and COMPILED_RAW in names else "raw"


def _verdict(label: str, wanted: float, got: float | None, *, higher: bool) -> str:
    if got is None:
        return f"| {label} | {wanted:g} | n/a | not measured |"
    ok = got >= wanted if higher else got <= wanted
    gap = abs(got - wanted) / wanted * 100
    verdict = "met" if ok else f"not met ({gap:.0f}% short)"
    sign = ">=" if higher else "<="
    return f"| {label} | {sign} {wanted:g} | {got:,.2f} | {verdict} |"


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options, run the benchmark, print the machine and the tables."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="a few iterations: checks it runs")
    parser.add_argument("--rounds", type=int, default=11, help="interleaved rounds (median kept)")
    parser.add_argument("--round-time", type=float, default=0.2, help="seconds per app per round")
    parser.add_argument("--memory-calls", type=int, default=15, help="requests in the memory pass")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument(
        "--only", default="", help="comma-separated case names, e.g. plaintext,form"
    )
    parser.add_argument("--impl", default=",".join(IMPLEMENTATIONS), help="e.g. raw,microasgi")
    parser.add_argument(
        "--compiled",
        metavar="DIR",
        default=None,
        help="also measure the compiled build installed in DIR "
        "(MICROASGI_COMPILE=1 pip install --no-deps --target DIR .)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.round_time, args.memory_calls = 1, 0.002, 2
    cases = [c for c in CASES if not args.only or c.name in args.only.split(",")]
    names = [n for n in IMPLEMENTATIONS if n in args.impl.split(",")]
    if "starlette" in names and importlib.util.find_spec("starlette") is None:
        print("starlette is not installed (pip install -e '.[bench]'): leaving it out")
        names.remove("starlette")
    if "compiled" in names and args.compiled is None:
        names.remove("compiled")
    if "compiled" in names:
        names.insert(names.index("compiled"), COMPILED_RAW)
    opts = Options(args.rounds, args.round_time, args.memory_calls)
    print("\n".join(machine()))
    if args.compiled is not None:
        print(f"compiled build: {os.path.abspath(args.compiled)}")
    print(f"rounds: {opts.rounds} interleaved, ~{opts.round_time}s per app per round, median shown")
    times, peaks = anyio.run(measure, names, cases, opts, not args.no_memory, args.compiled)
    print(report(names, cases, times, peaks))
