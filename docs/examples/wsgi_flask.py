"""A Flask app mounted with microasgi's own WSGIMiddleware: streaming and the body cap, on any
backend."""

import warnings
from collections.abc import Iterator

import flask

from microasgi.applications import MicroASGI
from microasgi.exceptions import StarletteDeprecationWarning
from microasgi.routing import Mount

with warnings.catch_warnings():
    # Deprecated, as Starlette's module is: silence the warning where you keep it on purpose.
    warnings.filterwarnings(
        "ignore", "microasgi.middleware.wsgi is deprecated", StarletteDeprecationWarning
    )
    from microasgi.middleware.wsgi import WSGIMiddleware

legacy = flask.Flask("legacy")


@legacy.get("/hello/<name>")
def hello(name: str) -> str:
    # SCRIPT_NAME is the mount prefix, so Flask's url_for and script_root include it.
    return f"Hello, {name}! ({flask.url_for('hello', name=name)})"


@legacy.post("/upload")
def upload() -> str:
    return f"{len(flask.request.get_data())} bytes"


@legacy.get("/export.csv")
def export() -> flask.Response:
    def rows() -> Iterator[str]:
        for number in range(10_000):
            yield f"{number},{number * number}\n"  # sent as produced, never held all at once

    return flask.Response(rows(), mimetype="text/csv")


app = MicroASGI(
    routes=[Mount("/legacy", app=WSGIMiddleware(legacy), max_body_size=1024 * 1024)],
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_flask_behind_wsgi_middleware() -> None:
    async with AsyncTestClient(app) as client:  # on asyncio and on trio
        response = await client.get("/legacy/hello/ada")
        assert response.text == "Hello, ada! (/legacy/hello/ada)"
        assert (await client.post("/legacy/upload", content=b"x" * 1000)).text == "1000 bytes"
        # Over the mount's max_body_size: 413, and the Flask app never runs.
        too_big = await client.post("/legacy/upload", content=b"x" * (1024 * 1024 + 1))
        assert too_big.status_code == 413
        async with client.stream("GET", "/legacy/export.csv") as response:
            assert await response.aiter_lines().__anext__() == "0,0"
        # Leaving the stream early disconnects: the generator is closed, not run to the end.
