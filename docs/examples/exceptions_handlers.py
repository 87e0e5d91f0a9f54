from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException
from microasgi.requests import Request
from microasgi.responses import JSONResponse, PlainTextResponse, Response
from microasgi.routing import Route


class PaymentError(Exception):
    """A domain error; subclasses are answered by the same handler."""


class CardDeclined(PaymentError):
    pass


async def pay(request: Request) -> Response:
    if request.query_params.get("card") == "stolen":
        raise CardDeclined("card declined")
    if "amount" not in request.query_params:
        raise HTTPException(400, detail="amount is required", headers={"X-Hint": "?amount=10"})
    return PlainTextResponse("paid")


async def payment_error(request: Request, exc: PaymentError) -> Response:
    return JSONResponse({"error": str(exc), "kind": type(exc).__name__}, status_code=402)


def not_found(request: Request, exc: HTTPException) -> Response:
    # A plain function: it runs in a worker thread.
    return JSONResponse({"error": f"nothing at {request.url.path}"}, status_code=404)


app = MicroASGI(
    routes=[Route("/pay", pay, methods=["POST"])],
    exception_handlers={PaymentError: payment_error, 404: not_found},
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_handlers_by_class_and_by_status() -> None:
    client = AsyncTestClient(app)
    declined = await client.post("/pay", params={"card": "stolen", "amount": "10"})
    missing = await client.post("/pay")
    elsewhere = await client.get("/refund")
    paid = await client.post("/pay", params={"amount": "10"})
    # By class, through the MRO: PaymentError's handler answers CardDeclined.
    assert (declined.status_code, declined.json()["kind"]) == (402, "CardDeclined")
    # No handler for 400: the HTTPException's own status, detail and headers.
    assert (missing.status_code, missing.text) == (400, "amount is required")
    assert missing.headers["x-hint"] == "?amount=10"
    # By status code: the router's 404 goes through the 404 handler.
    assert elsewhere.json() == {"error": "nothing at /refund"}
    assert paid.text == "paid"
