"""A raw ASGI app whose settings come from the environment, then a .env file, then defaults."""

from __future__ import annotations

import hmac

from microasgi.config import Config
from microasgi.datastructures import CommaSeparatedStrings, Secret
from microasgi.types import ASGIApp, Receive, Scope, Send


def create_app(config: Config) -> ASGIApp:
    # Read once, at startup: a missing SECRET_KEY or a bad DEBUG stops the app before it serves.
    debug = config("DEBUG", cast=bool, default=False)
    api_key = config("API_KEY", cast=Secret)  # repr() shows '**********', str() the value
    allowed_hosts = config("ALLOWED_HOSTS", cast=CommaSeparatedStrings, default="localhost")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1").split(":")[0]
        if host not in allowed_hosts:
            status, body = 400, "bad host"
        elif not hmac.compare_digest(headers.get(b"x-api-key", b""), str(api_key).encode()):
            status, body = 403, "bad key"
        else:
            status, body = 200, f"debug={debug}"
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body.encode()})

    return app


# In production, at import time: app = create_app(Config(".env"))


import tempfile  # noqa: E402 (the test's imports, after the code the page shows)
from pathlib import Path  # noqa: E402

from microasgi.testclient import AsyncTestClient  # noqa: E402

ENV_FILE = """\
# .env: development settings, never committed
DEBUG=true
API_KEY="dev-key"
ALLOWED_HOSTS=testserver, example.com
"""


def _config(environ: dict[str, str]) -> Config:
    with tempfile.TemporaryDirectory() as tmp:
        env_file = Path(tmp) / ".env"
        env_file.write_text(ENV_FILE, encoding="utf-8")
        return Config(env_file, environ=environ)  # the file is read here, once


async def test_the_env_file_fills_what_the_environment_does_not_set() -> None:
    client = AsyncTestClient(create_app(_config(environ={})))
    assert (await client.get("/", headers={"x-api-key": "dev-key"})).text == "debug=True"
    assert (await client.get("/", headers={"x-api-key": "guess"})).status_code == 403
    assert (await client.get("/", headers={"host": "evil.com"})).status_code == 400


async def test_the_environment_wins_over_the_env_file() -> None:
    app = create_app(_config(environ={"DEBUG": "FALSE", "API_KEY": "prod-key"}))
    client = AsyncTestClient(app)
    assert (await client.get("/", headers={"x-api-key": "prod-key"})).text == "debug=False"
    assert (await client.get("/", headers={"x-api-key": "dev-key"})).status_code == 403


def test_a_missing_setting_stops_the_app_at_startup() -> None:
    import pytest

    with pytest.raises(KeyError, match="Config 'API_KEY' is missing, and has no default"):
        create_app(Config(environ={}))
