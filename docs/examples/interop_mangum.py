"""A microasgi app on AWS Lambda through Mangum, tested with a hand-built API Gateway event."""

import asyncio
import json
from typing import Any

from mangum import Mangum

from microasgi.applications import MicroASGI
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Route


async def greet(request: Request) -> Response:
    response = JSONResponse(
        {"name": request.path_params["name"], "lang": request.query_params.get("lang")}
    )
    response.set_cookie("visited", "yes")
    return response


app = MicroASGI(routes=[Route("/hello/{name}", greet)])
# In the Lambda function's module: handler = Mangum(app, lifespan="off"), and "module.handler"
# as the function's handler setting. Mangum runs the app on the thread's asyncio event loop.


def http_api_event(method: str, path: str, query: str = "") -> dict[str, Any]:
    """The parts of an API Gateway HTTP API (payload format 2.0) event that Mangum reads."""
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "api.example.com", "x-forwarded-proto": "https"},
        "requestContext": {
            "http": {"method": method, "path": path, "sourceIp": "203.0.113.9"},
        },
        "isBase64Encoded": False,
    }


def test_lambda_invocation() -> None:
    loop = asyncio.new_event_loop()  # the loop a Lambda runtime's main thread would have
    asyncio.set_event_loop(loop)
    try:
        handler = Mangum(app, lifespan="off")
        result = handler(http_api_event("GET", "/hello/ada", "lang=en"), None)  # type: ignore[arg-type]
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"name": "ada", "lang": "en"}
    assert result["cookies"] == ["visited=yes; Path=/; SameSite=lax"]
