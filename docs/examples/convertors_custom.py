from microasgi.convertors import Convertor, IntegerConvertor
from microasgi.responses import PlainTextResponse
from microasgi.types import Receive, Scope, Send

item_id = IntegerConvertor()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    # A converter alone: check and convert one path segment, as a route does for {id:int}.
    segment = scope["path"].removeprefix("/items/")
    if item_id.matches(segment):
        response = PlainTextResponse(f"item {item_id.convert(segment)}")
    else:
        response = PlainTextResponse("Not Found", status_code=404)
    await response(scope, receive, send)


class HexConvertor(Convertor[int]):
    """``{colour:hex}``: lowercase hex digits, as an ``int``."""

    regex = "[0-9a-f]+"

    def convert(self, value: str) -> int:
        return int(value, 16)

    def to_string(self, value: int) -> str:
        return f"{value:x}"


from microasgi.testclient import AsyncTestClient  # noqa: E402


async def test_int_segments() -> None:
    client = AsyncTestClient(app)
    assert (await client.get("/items/42")).text == "item 42"
    assert (await client.get("/items/42%0A")).status_code == 404
    assert (await client.get("/items/\u00b2")).status_code == 404


def test_custom_convertor() -> None:
    hex_convertor = HexConvertor()
    assert hex_convertor.matches("ff")
    assert not hex_convertor.matches("zz")
    assert hex_convertor.convert("ff") == 255
    assert hex_convertor.to_string(255) == "ff"
