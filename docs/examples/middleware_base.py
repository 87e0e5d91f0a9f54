"""BaseHTTPMiddleware: a request id in a context variable, and a body read before the endpoint."""

import contextvars
import uuid

from microasgi.applications import MicroASGI
from microasgi.middleware import Middleware
from microasgi.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
handler: contextvars.ContextVar[str] = contextvars.ContextVar("handler", default="-")


class RequestIdMiddleware(BaseHTTPMiddleware):
    """Give each request an id, readable anywhere through ``request_id``; echo it back."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request_id.set(request.headers.get("x-request-id") or uuid.uuid4().hex)
        response = await call_next(request)  # the endpoint sees request_id ...
        response.headers["x-request-id"] = request_id.get()
        response.headers["x-handler"] = handler.get()  # ... and what it set is seen here
        return response


audit_log: list[str] = []


async def audit(request: Request, call_next: RequestResponseEndpoint) -> Response:
    """A dispatch function: log what is posted; the endpoint reads the same body after."""
    if request.method == "POST":
        audit_log.append(f"{request_id.get()} posted {await request.json()}")
    return await call_next(request)


async def create_note(request: Request) -> Response:
    handler.set("create_note")
    note = await request.json()  # read a second time: the audit read it first
    return JSONResponse({"request": request_id.get(), "note": note}, status_code=201)


app = MicroASGI(
    routes=[Route("/notes", create_note, methods=["POST"])],
    middleware=[
        Middleware(RequestIdMiddleware),
        Middleware(BaseHTTPMiddleware, dispatch=audit),
    ],
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_the_context_and_the_body_cross_call_next() -> None:
    audit_log.clear()
    response = await AsyncTestClient(app).post(
        "/notes", json={"text": "hi"}, headers={"x-request-id": "r-1"}
    )
    assert response.status_code == 201
    assert response.json() == {"request": "r-1", "note": {"text": "hi"}}
    assert response.headers["x-request-id"] == "r-1"
    assert response.headers["x-handler"] == "create_note"
    assert audit_log == ["r-1 posted {'text': 'hi'}"]
