from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import Route


def total(prices: dict[str, float], item: str) -> float:
    return prices[item] * 2


async def order(request: Request) -> Response:
    prices = {"tea": 2.5}
    item = request.query_params["item"]
    try:
        return PlainTextResponse(f"{total(prices, item):.2f}")
    except KeyError as exc:
        raise LookupError(f"no price for {item!r}") from exc


# debug=True: the debug page for unhandled errors. debug_locals=True adds each frame's local
# variables; leave it off when the page may be shared (it would show the values your code held).
app = MicroASGI(routes=[Route("/order", order)], debug=True)
app_with_locals = MicroASGI(routes=[Route("/order", order)], debug=True, debug_locals=True)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_the_debug_page() -> None:
    client = AsyncTestClient(app, raise_server_exceptions=False)
    page = await client.get(
        "/order?item=coffee",
        headers={"accept": "text/html", "authorization": "Bearer secret-token"},
    )
    assert page.status_code == 500
    html = page.text
    # The chain as Python prints it, oldest first; each frame with its source: the app's open,
    # with the failing line marked.
    assert "KeyError: &#x27;coffee&#x27;</pre>" in html
    assert "The above exception was the direct cause of the following exception:" in html
    assert "LookupError: no price for &#x27;coffee&#x27;</pre>" in html
    assert '<details class="frame app" open>' in html
    assert "return prices[item] * 2</mark>" in html
    # The library's frames (microasgi, anyio, the standard library) are there, collapsed.
    assert '<details class="frame library">' in html
    # The request, with its credentials redacted; no local variables unless asked for.
    assert "<th>authorization</th><td>[redacted]</td>" in html
    assert "secret-token" not in html
    assert 'class="locals"' not in html

    with_locals = AsyncTestClient(app_with_locals, raise_server_exceptions=False)
    page = await with_locals.get("/order?item=coffee", headers={"accept": "text/html"})
    assert "<th>prices</th><td>{&#x27;tea&#x27;: 2.5}</td>" in page.text

    # Anything that does not accept HTML (curl, a test) gets the plain traceback.
    text = await client.get("/order?item=coffee")
    assert text.text.startswith("Traceback (most recent call last):")
