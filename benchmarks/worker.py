"""The compiled build's side of ``python -m benchmarks --compiled DIR``: a worker process.

The pure and the compiled build are the same package, so one interpreter cannot load both. The
parent runs raw, microasgi (pure) and Starlette itself and starts this worker with DIR first on
its path; the worker builds the same benchmark app from the compiled build, and the raw app
again, runs their lifespans, and then answers one command per line (JSON) on its standard input:
check a case's answer, time N requests, measure the peak memory of one. Each timing is taken
inside the worker, so the parent's rounds interleave it with the other implementations exactly
as they interleave each other. The compiled build's ratio is taken to the raw app timed in the
same process ("raw-c"): two processes on a shared machine can differ by more than the builds do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
import tracemalloc
from pathlib import Path
from typing import IO, Any

import anyio

from benchmarks.cases import CASES, Case

NAME = "compiled"
RAW_NAME = "raw-c"  # the raw app, timed in the compiled build's process
_ROOT = Path(__file__).resolve().parent.parent


class Remote:
    """The worker process serving the compiled build (and the raw app beside it)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process

    @classmethod
    def spawn(cls, directory: str) -> Remote:
        """Start the worker on the build installed in ``directory``; fail if it is not one."""
        site = Path(directory).resolve()
        if not (site / "microasgi" / "__init__.py").is_file():
            raise SystemExit(
                f"--compiled {directory!r}: no microasgi package there. Install the compiled "
                f"build into it first: MICROASGI_COMPILE=1 pip install --no-deps --target "
                f"{directory} ."
            )
        env = dict(os.environ)
        # The compiled build first, then this checkout for the benchmarks package (whose own
        # microasgi sources must not shadow the build: hence no current directory on the path).
        env["PYTHONPATH"] = os.pathsep.join([str(site), str(_ROOT)])
        env["PYTHONSAFEPATH"] = "1"
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=site,
        )
        remote = cls(process)
        hello = remote._read()
        if not hello["compiled"] or not Path(hello["file"]).is_relative_to(site):
            remote.close()
            raise SystemExit(
                f"--compiled {directory!r}: the worker loaded {hello['file']} "
                f"(compiled: {hello['compiled']}), not a compiled build from that directory."
            )
        return remote

    def subject(self, name: str) -> RemoteSubject:
        """The implementation the parent calls ``name`` ("compiled" or "raw-c")."""
        return RemoteSubject(name, self)

    def _read(self) -> Any:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {NAME} worker exited ({self._process.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"the {NAME} worker failed:\n{reply['error']}")
        return reply

    def ask(self, **command: Any) -> Any:
        """Send one command and return its result."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        return self._read()["result"]

    def stop(self) -> None:
        """Run the worker apps' lifespan shutdown, then wait for the worker to exit."""
        if self._process.poll() is None:
            self.ask(op="stop")
        self.close()

    def close(self) -> None:
        """Wait for the worker to exit (stopping it if it has not), and close its pipes."""
        if self._process.poll() is None and self._process.stdin is not None:
            self._process.stdin.close()  # the worker's loop ends at the end of its input
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                pipe.close()


class RemoteSubject:
    """One implementation served by the worker; used like an in-process ``Subject``."""

    def __init__(self, name: str, remote: Remote) -> None:
        self.name = name
        self._remote = remote

    def skips(self, case: Case) -> bool:
        """Neither the raw app nor microasgi needs anything optional for any case."""
        return False

    async def verify(self, case: Case) -> None:
        """Fail loudly if the worker's app does not answer the case correctly."""
        self._remote.ask(op="verify", impl=self.name, case=case.name)

    async def run(self, case: Case, calls: int) -> float:
        """Seconds the worker took for ``calls`` requests of the case."""
        result: float = self._remote.ask(op="run", impl=self.name, case=case.name, calls=calls)
        return result

    async def peak(self, case: Case, calls: int) -> float:
        """Median peak bytes of one request, measured under ``tracemalloc`` in the worker."""
        result: float = self._remote.ask(op="peak", impl=self.name, case=case.name, calls=calls)
        return result

    async def shutdown(self) -> None:
        """Nothing: the worker's apps stop with the worker (``Remote.stop``)."""


async def _serve(out: IO[str]) -> None:
    import microasgi
    from benchmarks.inprocess import start

    cases = {case.name: case for case in CASES}

    def say(reply: dict[str, Any]) -> None:
        out.write(json.dumps(reply) + "\n")
        out.flush()

    compiled = bool(getattr(microasgi, "__compiled__", False))
    say({"file": microasgi.__file__, "compiled": compiled})
    async with anyio.create_task_group() as tg:
        subjects = {NAME: await start("microasgi", tg), RAW_NAME: await start("raw", tg)}
        for line in sys.stdin:
            command = json.loads(line)
            result: Any = None
            try:
                if command["op"] == "stop":
                    for subject in subjects.values():
                        await subject.shutdown()
                    say({"result": None})
                    return
                subject, case = subjects[command["impl"]], cases[command["case"]]
                if command["op"] == "verify":
                    await subject.verify(case)
                elif command["op"] == "run":
                    result = await subject.run(case, command["calls"])
                elif command["op"] == "peak":
                    if not tracemalloc.is_tracing():
                        tracemalloc.start()
                    result = await subject.peak(case, command["calls"])
            except Exception:
                say({"error": traceback.format_exc()})
                break
            say({"result": result})
        tg.cancel_scope.cancel()  # the parent has gone (or failed): no lifespan shutdown


def main() -> None:
    """Serve commands on stdin; replies go to the real stdout, app prints to stderr."""
    out = sys.stdout
    sys.stdout = sys.stderr
    anyio.run(_serve, out)


if __name__ == "__main__":
    main()
