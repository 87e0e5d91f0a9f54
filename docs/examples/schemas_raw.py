"""An OpenAPI schema built from a list of routes and sent by a raw ASGI app."""

from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import BaseRoute, Route
from microasgi.schemas import OpenAPIResponse, SchemaGenerator
from microasgi.types import Receive, Scope, Send


async def list_users(request: Request) -> Response:
    """List the users.

    ---
    responses:
      200:
        description: Every user.
    """
    return JSONResponse([{"username": "ada"}])


schemas = SchemaGenerator({"openapi": "3.1.0", "info": {"title": "Users", "version": "1.0"}})
routes: list[BaseRoute] = [Route("/users", list_users)]  # the type app.routes has


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    # OpenAPIResponse is a response like any other: an ASGI app.
    await OpenAPIResponse(schemas.get_schema(routes))(scope, receive, send)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_the_schema_is_yaml() -> None:
    response = await AsyncTestClient(app).get("/")
    assert response.headers["content-type"] == "application/vnd.oai.openapi"
    assert response.text == (
        "info:\n"
        "  title: Users\n"
        "  version: '1.0'\n"
        "openapi: 3.1.0\n"
        "paths:\n"
        "  /users:\n"
        "    get:\n"
        "      responses:\n"
        "        200:\n"
        "          description: Every user.\n"
    )
