"""Real ASGI servers as subprocesses on 127.0.0.1, and the clients the integration tests use.

Each server runs ``integration.serverapp:app`` on a free loopback port. ``start`` waits for the
port with a bounded connect loop and ``stop`` ends the server by its process id (terminate, wait,
kill). Never any address but loopback. The ``-root`` servers are extra instances started with the
server's own root-path option (``ROOT_PATH``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import importlib.metadata
import importlib.util
import ipaddress
import json
import os
import random
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import pytest

from .serverapp import BIG_ENV, BIG_SIZE, DOWNLOAD_ENV

HOST = "127.0.0.1"  # SECURITY: the tests only ever talk to loopback.
APP = "integration.serverapp:app"
TESTS_DIR = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
IO_TIMEOUT = 10.0
ROOT_PATH = "/prefix"


def _commands(port: int, cert: Path, key: Path) -> dict[str, list[str]]:
    python = sys.executable
    uvicorn = [python, "-m", "uvicorn", APP, "--host", HOST, "--port", str(port)]
    quiet = ["--log-level", "warning", "--lifespan", "on"]
    granian = [python, "-m", "granian", "--interface", "asgi", "--host", HOST, "--port", str(port)]
    # gunicorn's own ASGI worker (gunicorn >= 24), one worker process. No control socket: by
    # default every gunicorn master listens on the same ~/.gunicorn/gunicorn.ctl. A short
    # graceful timeout: measured, an idle gunicorn takes all of it to stop.
    gunicorn = [
        *(python, "-m", "gunicorn", "--worker-class", "asgi", "--bind", f"{HOST}:{port}"),
        *("--workers", "1", "--no-control-socket", "--graceful-timeout", "1"),
        *("--log-level", "warning"),
    ]
    return {
        "uvicorn-h11": [*uvicorn, "--http", "h11", *quiet],
        "uvicorn-httptools": [*uvicorn, "--http", "httptools", *quiet],
        # uvicorn's zttp protocol with HTTP/2: HTTP/1.1 and cleartext HTTP/2 with prior
        # knowledge on one port (it sniffs the preface), each served by zttp.
        "uvicorn-zttp": [*uvicorn, "--http", "zttp", "--http2", *quiet],
        # HTTP/1.1, and cleartext HTTP/2 with prior knowledge ("both" also takes Upgrade: h2c)
        # from the trusted peers of --forwarded-allow-ips, loopback by default.
        "gunicorn": [*gunicorn, "--http-protocols", "h2,h1", "--http2-cleartext", "both", APP],
        "hypercorn": [python, "-m", "hypercorn", "--bind", f"{HOST}:{port}", APP],
        "granian": [
            *(python, "-m", "granian", "--interface", "asgi", "--host", HOST),
            *("--port", str(port), "--workers", "1", "--log-level", "warning", APP),
        ],
        "daphne": [python, "-m", "daphne", "-b", HOST, "-p", str(port), APP],
        # The same servers over TLS, to measure which offers the tls extension.
        "uvicorn-tls": [*uvicorn, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key), *quiet],
        "hypercorn-tls": [
            *(python, "-m", "hypercorn", "--bind", f"{HOST}:{port}"),
            *("--certfile", str(cert), "--keyfile", str(key), APP),
        ],
        "granian-tls": [
            *granian,
            *("--ssl-certificate", str(cert), "--ssl-keyfile", str(key), "--log-level", "warning"),
            APP,
        ],
        "daphne-tls": [
            *(python, "-m", "daphne", "-e"),
            f"ssl:{port}:interface={HOST}:privateKey={key}:certKey={cert}",
            APP,
        ],
        "gunicorn-tls": [*gunicorn, "--certfile", str(cert), "--keyfile", str(key), APP],
        # The same servers with their root-path option, to measure what each does with it.
        "uvicorn-root": [*uvicorn, "--root-path", ROOT_PATH, *quiet],
        "hypercorn-root": [
            *(python, "-m", "hypercorn", "--bind", f"{HOST}:{port}"),
            *("--root-path", ROOT_PATH, APP),
        ],
        "granian-root": [
            *granian,
            *("--workers", "1", "--log-level", "warning", "--url-path-prefix", ROOT_PATH, APP),
        ],
        "daphne-root": [
            *(python, "-m", "daphne", "-b", HOST, "-p", str(port)),
            *("--root-path", ROOT_PATH, APP),
        ],
        "gunicorn-root": [*gunicorn, "--root-path", ROOT_PATH, APP],
        # HTTP/3: hypercorn over QUIC (aioquic) on the UDP port of the same number, beside
        # HTTP/1.1 and HTTP/2 over TLS on the TCP port (QUIC needs the certificate).
        "hypercorn-h3": [
            *(python, "-m", "hypercorn", "--bind", f"{HOST}:{port}"),
            *("--quic-bind", f"{HOST}:{port}", "--certfile", str(cert), "--keyfile", str(key)),
            *("--graceful-timeout", "1", APP),
        ],
    }


_ALL = tuple(_commands(0, Path(), Path()))
TLS_NAMES = tuple(name for name in _ALL if name.endswith("-tls"))
ROOT_NAMES = tuple(name for name in _ALL if name.endswith("-root"))
H3_NAMES = ("hypercorn-h3",)
SERVER_NAMES = tuple(name for name in _ALL if name not in TLS_NAMES + ROOT_NAMES + H3_NAMES)

# The packages a server needs beyond the dev extra's floor: module, distribution, lowest version.
_NEEDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "gunicorn": (("gunicorn", "gunicorn", "26.2"),),  # --http2-cleartext came in 26.2.0
    "uvicorn-zttp": (
        ("zttp", "zttp", "0.0.35"),
        # --http zttp and --http2 came in uvicorn 0.53.
        ("uvicorn.protocols.http.auto_zttp_impl", "uvicorn", "0.53"),
    ),
    "hypercorn-h3": (("aioquic", "aioquic", "1.2"),),
}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def missing(name: str) -> str | None:
    """Why server ``name`` cannot run with what is installed here, or None if it can."""
    base = name.removesuffix("-tls").removesuffix("-root")
    for module, distribution, lowest in _NEEDS.get(base, ()):
        try:
            found = importlib.util.find_spec(module) is not None
            installed = importlib.metadata.version(distribution) if found else None
        except (ImportError, importlib.metadata.PackageNotFoundError):
            found, installed = False, None
        if installed is None or _version(installed) < _version(lowest):
            return (
                f"{name} needs {distribution}>={lowest} (importing {module!r}), which is not "
                f"installed for Python {sys.version.split()[0]} (found {installed or 'none'}); "
                "install the dev extra: pip install -e '.[dev]'"
            )
    return None


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1: (certificate, PKCS#8 key) PEM files."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "microasgi test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclasses.dataclass
class Server:
    """A running server: its name, port and process."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def output(self) -> str:
        """What the server printed so far (for failure messages)."""
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")


_HANDED_OUT: set[int] = set()


def free_port(udp: bool = False) -> int:
    """A port the kernel just handed out on loopback (free unless raced, which is rare), never
    one this process handed out before: the kernel may give a port again once its probe socket
    is closed, before the server it was drawn for binds it, and two servers of one fixture then
    share it (a TLS client once reached a plain-HTTP server that way).

    With ``udp``, a number free for both TCP and UDP (QUIC listens on UDP).
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port: int = sock.getsockname()[1]
        if port in _HANDED_OUT:
            continue
        if udp:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
                try:
                    datagram.bind((HOST, port))
                except OSError:
                    continue  # taken for UDP: draw another
        _HANDED_OUT.add(port)
        return port


def make_download(directory: Path) -> Path:
    """The file ``/download`` serves: 3 MiB and a few bytes of seeded random data.

    Beside it ``big.bin``, the file ``/leave/file`` serves: ``BIG_SIZE`` bytes, sparse (no disk
    blocks; reads return zeros).
    """
    path = directory / "download.bin"
    path.write_bytes(random.Random(7).randbytes(3 * 1024 * 1024 + 123))
    with open(directory / "big.bin", "wb") as big:
        big.truncate(BIG_SIZE)
    return path


def launch(name: str, cert: Path, key: Path) -> Server:
    """Start server ``name`` without waiting for it (see ``wait_ready``).

    The app serves ``download.bin`` and ``big.bin`` from the certificate's directory (see
    ``make_download``).
    """
    port = free_port(udp=name in H3_NAMES)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    env[DOWNLOAD_ENV] = str(cert.parent / "download.bin")
    env[BIG_ENV] = str(cert.parent / "big.bin")
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        _commands(port, cert, key)[name], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
    )
    return Server(name, port, process, log)


def wait_ready(server: Server, deadline: float) -> None:
    """Wait until the server accepts connections; fail with its output if it dies or is late."""
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited early:\n{server.output()}")
        try:
            with socket.create_connection((HOST, server.port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{server.name} did not listen on {HOST}:{server.port} within "
                    f"{START_TIMEOUT}s:\n{server.output()}"
                ) from None
            time.sleep(0.05)  # polling a subprocess's port: nothing to wait on but time


def stop(*servers: Server) -> None:
    """Stop the servers by their process ids: terminate all, wait, then kill any that lingers.

    Terminated together, so their graceful shutdowns overlap.
    """
    try:
        for server in servers:
            server.process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for server in servers:
            try:
                server.process.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=STOP_TIMEOUT)
    finally:
        for server in servers:
            server.log.close()


class Servers(dict[str, Server]):
    """The running servers by name; asking for one that cannot run here skips the test."""

    def __init__(self, skipped: dict[str, str]) -> None:
        super().__init__()
        self.skipped = skipped

    def __missing__(self, name: str) -> Server:
        pytest.skip(self.skipped.get(name, f"{name} was not started"))


@contextlib.contextmanager
def running(names: Sequence[str], cert: Path, key: Path) -> Iterator[Servers]:
    """Start the servers together (their start-ups overlap), yield them, and always stop them.

    A server whose packages are not installed (``missing``) is left out; asking for it skips.
    """
    reasons = {name: missing(name) for name in names}
    servers = Servers({name: reason for name, reason in reasons.items() if reason is not None})
    try:
        for name in names:
            if reasons[name] is None:
                servers[name] = launch(name, cert, key)
        deadline = time.monotonic() + START_TIMEOUT
        for server in servers.values():
            wait_ready(server, deadline)
        yield servers
    finally:
        stop(*servers.values())


# --- clients ---------------------------------------------------------------------------------


def http1_get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 GET with the standard library's client."""
    connection = http.client.HTTPConnection(HOST, port, timeout=IO_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def https_json(port: int, path: str, cert: Path) -> Any:
    """GET ``path`` over HTTPS/1.1, trusting only the test certificate, and decode the JSON."""
    context = ssl.create_default_context(cafile=str(cert))
    context.set_alpn_protocols(["http/1.1"])
    connection = http.client.HTTPSConnection(HOST, port, timeout=IO_TIMEOUT, context=context)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body
        return json.loads(body)
    finally:
        connection.close()


def http1_json(port: int, path: str) -> Any:
    """GET ``path`` over HTTP/1.1 and decode the JSON body."""
    status, _, body = http1_get(port, path)
    assert status == 200, body
    return json.loads(body)


@dataclasses.dataclass
class H2Stream:
    """What an HTTP/2 stream received."""

    informational: list[list[tuple[bytes, bytes]]] = dataclasses.field(default_factory=list)
    headers: list[tuple[bytes, bytes]] = dataclasses.field(default_factory=list)
    body: bytes = b""
    trailers: list[tuple[bytes, bytes]] = dataclasses.field(default_factory=list)
    ended: bool = False

    @property
    def status(self) -> int:
        """The final status."""
        return int(dict(self.headers)[b":status"])


@dataclasses.dataclass
class H2Result:
    """The response to one HTTP/2 request, with the streams the server pushed."""

    response: H2Stream
    promises: dict[int, list[tuple[bytes, bytes]]]  # pushed stream id: promised request headers
    pushed: dict[int, H2Stream]


def h2_get(port: int, path: str, headers: Sequence[tuple[str, str]] = ()) -> H2Result:
    """One GET over cleartext HTTP/2 with prior knowledge (h2c), push enabled.

    Reads until the response and every pushed response have ended, within ``IO_TIMEOUT``.

    Raises:
        ConnectionError: the server closed the connection first, or does not speak HTTP/2.
    """
    config = h2.config.H2Configuration(client_side=True, header_encoding=None)
    connection = h2.connection.H2Connection(config=config)
    streams: dict[int, H2Stream] = {}
    promises: dict[int, list[tuple[bytes, bytes]]] = {}
    with socket.create_connection((HOST, port), timeout=IO_TIMEOUT) as sock:
        connection.initiate_connection()
        stream_id = connection.get_next_available_stream_id()
        request = [
            (":method", "GET"),
            (":path", path),
            (":scheme", "http"),
            (":authority", f"{HOST}:{port}"),
            *headers,
        ]
        connection.send_headers(stream_id, request, end_stream=True)
        sock.sendall(connection.data_to_send())
        streams[stream_id] = H2Stream()
        deadline = time.monotonic() + IO_TIMEOUT
        while not all(stream.ended for stream in streams.values()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"HTTP/2 GET {path} did not complete: {streams!r}")
            data = sock.recv(65536)
            try:
                if not data:
                    raise ConnectionError(f"The server closed the connection: {streams!r}")
                events = connection.receive_data(data)
            except h2.exceptions.ProtocolError as exc:
                raise ConnectionError(f"The server does not speak HTTP/2: {exc}") from None
            for event in events:
                _h2_event(connection, event, streams, promises)
            sock.sendall(connection.data_to_send())
    response = streams.pop(stream_id)
    return H2Result(response, promises, streams)


def _h2_event(
    connection: h2.connection.H2Connection,
    event: h2.events.Event,
    streams: dict[int, H2Stream],
    promises: dict[int, list[tuple[bytes, bytes]]],
) -> None:
    if isinstance(event, h2.events.PushedStreamReceived) and event.pushed_stream_id is not None:
        promises[event.pushed_stream_id] = list(event.headers or [])
        streams[event.pushed_stream_id] = H2Stream()
    elif isinstance(event, h2.events.InformationalResponseReceived):
        streams[event.stream_id].informational.append(list(event.headers or []))
    elif isinstance(event, h2.events.ResponseReceived):
        streams[event.stream_id].headers = list(event.headers or [])
    elif isinstance(event, h2.events.DataReceived):
        streams[event.stream_id].body += event.data or b""
        connection.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
    elif isinstance(event, h2.events.TrailersReceived):
        streams[event.stream_id].trailers = list(event.headers or [])
    elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
        if event.stream_id in streams:
            streams[event.stream_id].ended = True
