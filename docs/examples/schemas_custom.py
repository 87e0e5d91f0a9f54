"""A generator of your own: the operations of get_endpoints, each given an operationId."""

from typing import Any

from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import BaseRoute, Route
from microasgi.schemas import BaseSchemaGenerator


class OperationIds(BaseSchemaGenerator):
    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        for endpoint in self.get_endpoints(routes):
            operation = {"operationId": endpoint.func.__name__}
            operation.update(self.parse_docstring(endpoint.func))
            paths.setdefault(endpoint.path, {})[endpoint.http_method] = operation
        return {"openapi": "3.1.0", "info": {"title": "Ids", "version": "1"}, "paths": paths}


async def get_user(request: Request) -> Response:
    """
    responses:
      200:
        description: The user.
    """
    return JSONResponse({"id": request.path_params["id"]})


async def ping(request: Request) -> Response:
    return JSONResponse("pong")


routes: list[BaseRoute] = [Route("/users/{id:int}", get_user), Route("/ping", ping)]


def test_every_operation_gets_an_id() -> None:
    assert OperationIds().get_schema(routes)["paths"] == {
        "/users/{id}": {
            "get": {"operationId": "get_user", "responses": {200: {"description": "The user."}}}
        },
        "/ping": {"get": {"operationId": "ping"}},  # no docstring: listed all the same
    }
