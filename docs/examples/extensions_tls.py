"""request.tls: the connection's TLS details, or None on a plain connection."""

from __future__ import annotations

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route
from microasgi.testclient import AsyncTestClient


async def whoami(request: Request) -> Response:
    tls = request.tls
    if tls is None:
        return JSONResponse({"tls": False})
    return JSONResponse(
        {
            "tls": tls.version,  # "TLSv1.3"; tls.tls_version is the number, 0x0304
            "cipher": tls.cipher_suite,
            "client": tls.client_cert_name,  # the client certificate's subject, RFC 4514
            "verified": tls.client_cert is not None and tls.client_cert_error is None,
        }
    )


app = MicroASGI(routes=[Route("/", whoami)])

TLS = {
    "server_cert": None,
    "client_cert_chain": ["-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"],
    "client_cert_name": "CN=alice,O=Example",
    "client_cert_error": None,
    "tls_version": 0x0304,
    "cipher_suite": 0x1301,
}


async def test_over_tls() -> None:
    client = AsyncTestClient(app, base_url="https://testserver", extensions={"tls": TLS})
    assert (await client.get("/")).json() == {
        "tls": "TLSv1.3",
        "cipher": 0x1301,
        "client": "CN=alice,O=Example",
        "verified": True,
    }


async def test_plain_connection() -> None:
    assert (await AsyncTestClient(app).get("/")).json() == {"tls": False}
