"""``Middleware(cls, *args, **kwargs)``: declaring, checking and building middleware."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import mypy.api
import pytest

from microasgi.middleware import Middleware, _build_stack
from microasgi.responses import PlainTextResponse
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

ROOT = Path(__file__).resolve().parents[2]


class TagMiddleware:
    """Appends its tag to an ``x-tags`` response header, so tests see the order of the stack."""

    def __init__(self, app: ASGIApp, tag: str, *, upper: bool = False) -> None:
        self.app = app
        self.tag = tag.upper() if upper else tag

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message["headers"])
                for index, (name, value) in enumerate(headers):
                    if name == b"x-tags":
                        headers[index] = (name, value + b"," + self.tag.encode())
                        break
                else:
                    headers.append((b"x-tags", self.tag.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, tagged)


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("ok")(scope, receive, send)


def test_keeps_class_and_options() -> None:
    item = Middleware(TagMiddleware, "a", upper=True)
    assert item.cls is TagMiddleware
    assert item.args == ("a",)
    assert item.kwargs == {"upper": True}


def test_unpacks_like_starlettes() -> None:
    cls, args, kwargs = Middleware(TagMiddleware, tag="a")
    assert (cls, args, kwargs) == (TagMiddleware, (), {"tag": "a"})


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (Middleware(TagMiddleware, "a"), "Middleware(TagMiddleware, 'a')"),
        (
            Middleware(TagMiddleware, tag="a", upper=True),
            "Middleware(TagMiddleware, tag='a', upper=True)",
        ),
    ],
)
def test_repr(item: Middleware[Any], expected: str) -> None:
    assert repr(item) == expected


def test_repr_of_a_factory_without_a_name() -> None:
    class Factory:
        def __call__(self, app: ASGIApp) -> ASGIApp:
            return app

    factory = Factory()
    assert repr(Middleware(factory)) == f"Middleware({factory!r})"


def test_build_wraps_the_app() -> None:
    built = Middleware(TagMiddleware, "a", upper=True).build(endpoint)
    assert isinstance(built, TagMiddleware)
    assert built.app is endpoint
    assert built.tag == "A"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {"wrong_option": 1}, "TagMiddleware does not accept these options: "),
        (("a", "b"), {}, "too many positional arguments"),
        ((), {}, "missing a required argument: 'tag'"),
    ],
)
def test_wrong_options_fail_at_construction(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    factory = cast(Callable[..., ASGIApp], TagMiddleware)
    with pytest.raises(TypeError, match=message) as info:
        Middleware(factory, *args, **kwargs)
    assert (
        "Its signature is TagMiddleware(app: 'ASGIApp', tag: 'str', *, upper: 'bool' = False)"
        in str(info.value)
    )


def test_a_factory_without_signature_is_not_checked() -> None:
    # int has no introspectable signature: nothing to check options against, so none is refused.
    item = Middleware(cast(Any, int), 10)
    assert item.args == (10,)


def test_not_callable_is_refused() -> None:
    with pytest.raises(
        TypeError, match=r"Middleware needs a middleware class \(or factory\), got 'gzip'"
    ):
        Middleware(cast(Any, "gzip"))


async def test_first_listed_is_outermost() -> None:
    from microasgi.testclient import AsyncTestClient

    app = _build_stack(
        endpoint, [Middleware(TagMiddleware, "outer"), Middleware(TagMiddleware, "inner")]
    )
    response = await AsyncTestClient(app).get("/")
    # The inner middleware sees the response first, so it tags first.
    assert response.headers["x-tags"] == "inner,outer"
    assert _build_stack(endpoint, None) is endpoint
    assert _build_stack(endpoint, []) is endpoint


SNIPPET = """
from microasgi.middleware import Middleware
from microasgi.types import ASGIApp, Receive, Scope, Send


class SomeMiddleware:
    def __init__(self, app: ASGIApp, minimum_size: int = 500) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


good = Middleware(SomeMiddleware, minimum_size=1000)
bad = Middleware(SomeMiddleware, wrong_option=1)
worse = Middleware(SomeMiddleware, minimum_size="big")
"""


def test_mypy_rejects_wrong_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "snippet.py"
    path.write_text(SNIPPET, encoding="utf-8")
    monkeypatch.chdir(ROOT)  # finds microasgi, and reuses the project's mypy cache
    stdout, stderr, status = mypy.api.run(["--strict", "--no-error-summary", str(path)])
    # The line and message only: mypy's cache may report the path of an earlier tmp_path.
    errors = [
        line.partition("snippet.py:")[2] for line in stdout.splitlines() if ": error:" in line
    ]
    assert status == 1, stdout + stderr
    assert errors == [
        '15: error: Unexpected keyword argument "wrong_option" for "Middleware"  [call-arg]',
        '16: error: Argument "minimum_size" to "Middleware" has incompatible type "str"; '
        'expected "int"  [arg-type]',
    ]
